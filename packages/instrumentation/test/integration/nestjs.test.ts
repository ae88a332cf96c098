import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import {
  All,
  type ArgumentsHost,
  type CanActivate,
  Catch,
  Controller,
  type ExceptionFilter,
  Get,
  HttpException,
  HttpStatus,
  Module,
  NotFoundException,
  Param,
  Post,
  type Type,
  UnauthorizedException,
  UseFilters,
  UseGuards,
  VersioningType,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Response } from 'express';
import { registerMetrics, type MetricsHandle } from '../../src/index';
import { samplesOf } from '../helpers/exposition';
import { send } from '../helpers/request';
import { until } from '../helpers/wait';

/*
 * A real NestJS app on its default Express platform, instrumented as the README's NestJS section
 * says. Nest registers each handler as an Express route whose path is the whole template (global
 * prefix, version, controller and method paths joined: `/api/v1/v2/cats/:id`), so that is the
 * label. Its not-found handler is a plain `app.use()` middleware after the routes, with or without
 * a prefix, so a request no handler matches is `<unmatched>`; so is a 404 of an app's own
 * catch-all route (`@All('*path')`).
 */

const COUNT = 'app_request_count_total';

class OutOfStock extends Error {}

/** Maps the domain error to 409. */
@Catch(OutOfStock)
class OutOfStockFilter implements ExceptionFilter {
  catch(_error: OutOfStock, host: ArgumentsHost): void {
    host.switchToHttp().getResponse<Response>().status(HttpStatus.CONFLICT).json({ stock: 0 });
  }
}

/** Rejects with 401. */
class TokenGuard implements CanActivate {
  canActivate(): boolean {
    throw new UnauthorizedException();
  }
}

/** Rejects with Nest's default for a guard that says no: 403. */
class DenyGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

@Controller('users')
class UsersController {
  @Get(':id')
  one(@Param('id') id: string): { id: string } {
    return { id };
  }

  @Post()
  create(): { created: boolean } {
    return { created: true };
  }

  @Get(':id/secret')
  @UseGuards(TokenGuard)
  secret(): string {
    return 'never';
  }

  @Get(':id/admin')
  @UseGuards(DenyGuard)
  admin(): string {
    return 'never';
  }

  @Get(':id/teapot')
  teapot(): never {
    throw new HttpException('short and stout', HttpStatus.I_AM_A_TEAPOT);
  }

  @Get(':id/stock')
  @UseFilters(OutOfStockFilter)
  stock(): never {
    throw new OutOfStock();
  }

  @Get(':id/crash')
  crash(): never {
    throw new Error('not an HttpException');
  }
}

@Controller({ path: 'cats', version: '2' })
class CatsController {
  @Get(':id')
  one(@Param('id') id: string): { cat: string } {
    return { cat: id };
  }
}

@Controller()
class RootController {
  @Get()
  root(): string {
    return 'root';
  }
}

/** An app's own catch-all, declared last: it answers whatever path the others do not have. */
@Controller()
class FallbackController {
  @All('*path')
  notFound(): never {
    throw new NotFoundException('no such page');
  }
}

@Module({ controllers: [UsersController, CatsController, RootController] })
class AppModule {}

@Module({
  controllers: [UsersController, CatsController, RootController, FallbackController],
})
class AppWithFallbackModule {}

interface Nest {
  app: NestExpressApplication;
  metrics: MetricsHandle;
  url: string;
}

/** The bootstrap of the README, with a global prefix or without, on a free loopback port. */
async function bootstrap(prefix: string, module: Type = AppModule): Promise<Nest> {
  const app = await NestFactory.create<NestExpressApplication>(module, { logger: false });
  if (prefix !== '') app.setGlobalPrefix(prefix);
  app.enableVersioning({ type: VersioningType.URI });
  const metrics = registerMetrics(app.getHttpAdapter().getInstance(), {
    appVersion: 'v0.1.2',
    appConfig: 'test',
    endpoint: { mode: 'none' },
  });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, metrics, url: `http://127.0.0.1:${port}` };
}

async function close(nest: Nest): Promise<void> {
  await nest.app.close();
  await nest.metrics.shutdown();
}

/** One request, with the status it must get and the `endpoint` label it must be counted under. */
type Case = [method: string, path: string, status: number, endpoint: string];

const UNMATCHED = '<unmatched>';

/** Every request and its labels; `p` is the global prefix as Express sees it ('' or '/api/v1'). */
function cases(p: string): Case[] {
  return [
    ['GET', `${p}/users/1`, 200, `${p}/users/:id`],
    ['GET', `${p}/users/2`, 200, `${p}/users/:id`],
    ['POST', `${p}/users`, 201, `${p}/users`],
    ['GET', `${p}/users/1/secret`, 401, `${p}/users/:id/secret`],
    ['GET', `${p}/users/1/admin`, 403, `${p}/users/:id/admin`],
    ['GET', `${p}/users/1/teapot`, 418, `${p}/users/:id/teapot`],
    ['GET', `${p}/users/1/stock`, 409, `${p}/users/:id/stock`],
    ['GET', `${p}/users/1/crash`, 500, `${p}/users/:id/crash`],
    ['GET', `${p}/v2/cats/7`, 200, `${p}/v2/cats/:id`],
    // The root handler: `/` without a prefix, the prefix itself with one.
    ['GET', p === '' ? '/' : p, 200, p === '' ? '/' : p],
    // Not found: an unknown version, method, path under the prefix, path outside it.
    ['GET', `${p}/v1/cats/7`, 404, UNMATCHED],
    ['DELETE', `${p}/users/1`, 404, UNMATCHED],
    ['GET', `${p}/nope/1`, 404, UNMATCHED],
    ['GET', '/api/v1/nope', 404, UNMATCHED],
    ['GET', '/elsewhere', 404, UNMATCHED],
  ];
}

/** `method endpoint status` of each series of the request counter, with its count. */
function countSeries(text: string): string[] {
  return samplesOf(text, COUNT)
    .map((s) => `${s.labels.method} ${s.labels.endpoint} ${s.labels.http_status} = ${s.value}`)
    .sort();
}

/** Sends each request, checks its status, then the whole request counter against the cases. */
async function expectCounted(nest: Nest, all: Case[]): Promise<void> {
  for (const [method, path, status] of all) {
    expect([method, path, (await send(nest.url, method, path)).status]).toEqual([
      method,
      path,
      status,
    ]);
  }
  const expected = new Map<string, number>();
  for (const [method, , status, endpoint] of all) {
    const key = `${method} ${endpoint} ${status}`;
    expected.set(key, (expected.get(key) ?? 0) + 1);
  }
  const text = await until(
    () => nest.metrics.scrape(),
    (t) => samplesOf(t, COUNT).reduce((sum, s) => sum + s.value, 0) >= all.length,
  );
  expect(countSeries(text)).toEqual([...expected].map(([key, n]) => `${key} = ${n}`).sort());
}

const PREFIXES: Array<[string, string, string]> = [
  ['with the global prefix api/v1', 'api/v1', '/api/v1'],
  ['without a global prefix', '', ''],
];

describe.each(PREFIXES)('a NestJS app %s', (_name, prefix, p) => {
  let nest: Nest;

  beforeAll(async () => {
    nest = await bootstrap(prefix);
  });

  afterAll(async () => {
    await close(nest);
  });

  it('labels each request with the Express path Nest registered, every 404 <unmatched>', async () => {
    await expectCounted(nest, cases(p));
  });
});

describe.each(PREFIXES)('a NestJS app with a catch-all controller, %s', (_name, prefix, p) => {
  let nest: Nest;

  beforeAll(async () => {
    nest = await bootstrap(prefix, AppWithFallbackModule);
  });

  afterAll(async () => {
    await close(nest);
  });

  it('counts the 404s of its catch-all route as <unmatched>, not as its template', async () => {
    await expectCounted(nest, [
      ['GET', `${p}/users/1`, 200, `${p}/users/:id`],
      ['GET', `${p}/users/1/admin`, 403, `${p}/users/:id/admin`],
      // Answered by the route `${p}/*path`.
      ['GET', `${p}/nope/1`, 404, UNMATCHED],
      ['DELETE', `${p}/users/1`, 404, UNMATCHED],
      // Outside the prefix: Nest's not-found middleware (with a prefix), else `/*path`.
      ['GET', '/elsewhere', 404, UNMATCHED],
    ]);
  });
});

describe('a NestJS app closed', () => {
  it('leaves no server, socket or timer behind after app.close() and shutdown()', async () => {
    const kinds = ['TCPServerWrap', 'TCPSocketWrap', 'Timeout'] as const;
    type Active = Record<(typeof kinds)[number], number>;
    const active = (): Active => {
      const info = process.getActiveResourcesInfo();
      return Object.fromEntries(
        kinds.map((k) => [k, info.filter((t) => t === k).length]),
      ) as Active;
    };
    const left = (now: Active): string[] =>
      kinds.filter((k) => now[k] > before[k]).map((k) => `${k}: ${before[k]} -> ${now[k]}`);
    const before = active();

    const nest = await bootstrap('api/v1');
    expect(active().TCPServerWrap).toBe(before.TCPServerWrap + 1);
    expect((await send(nest.url, 'GET', '/api/v1/users/1')).status).toBe(200);
    await until(
      () => nest.metrics.scrape(),
      (t) => samplesOf(t, COUNT).length > 0,
    );
    await close(nest);

    // At most as many as before: a socket of an earlier test may still have been closing then.
    const after = await until(
      async () => active(),
      (now) => left(now).length === 0,
    );
    expect(left(after)).toEqual([]);
  });
});
