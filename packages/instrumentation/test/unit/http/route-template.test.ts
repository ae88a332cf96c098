import {
  endsInWildcard,
  express4MountPath,
  joinPatterns,
  patternText,
  topLevelAlternatives,
} from '../../../src/http/route-template';
import { FLAVOURS } from '../../helpers/apps';

interface E4Layer {
  regexp: RegExp;
  keys: Array<{ name: string; optional: boolean }>;
}

describe('Express 4 mount paths recovered from their RegExp', () => {
  const express4 = FLAVOURS[0]![1];
  const mountLayer = (path: string): E4Layer => {
    const app = express4() as unknown as {
      use: (p: string, r: unknown) => void;
      _router: { stack: E4Layer[] };
    };
    app.use(path, express4.Router());
    return app._router.stack[app._router.stack.length - 1]!;
  };

  it.each([
    '/api',
    '/api/orders/:orderId',
    '/a/:b/c/:d',
    '/opt/:a?',
    '/files/*',
    '/user.json',
    '/with-dash_and~tilde',
  ])('%s', (path) => {
    const layer = mountLayer(path);
    expect(express4MountPath(layer.regexp, layer.keys)).toBe(path);
  });

  it('gives up (undefined) on patterns outside the simple grammar', () => {
    const layer = mountLayer('/(foo|bar)');
    expect(express4MountPath(layer.regexp, layer.keys)).toBeUndefined();
    expect(express4MountPath(/^\/re(\d+)/, [{ name: 0, optional: false }])).toBeUndefined();
  });
});

describe('pattern text and joining', () => {
  it('shows declared patterns, never request data', () => {
    expect(patternText('/users/:id')).toBe('/users/:id');
    expect(patternText(/^\/re(\d+)/)).toBe('/^\\/re(\\d+)/');
    expect(patternText(['/a', '/b/:c'])).toBe('/a,/b/:c');
    expect(patternText(undefined)).toBe('<mount>');
  });

  it('joins with one slash where parts meet; a route `/` under a mount adds nothing', () => {
    expect(joinPatterns(['/api', '/users/:id'])).toBe('/api/users/:id');
    expect(joinPatterns(['/api/', '/users'])).toBe('/api/users');
    expect(joinPatterns(['/api', '/'])).toBe('/api');
    expect(joinPatterns(['/', '/a', '/', '/'])).toBe('/a');
    expect(joinPatterns(['', '/'])).toBe('/');
    expect(joinPatterns(['/', ''])).toBe('/');
  });
});

describe('declared forms kept as declared', () => {
  it('keeps a declared trailing slash and every character of a RegExp', () => {
    expect(joinPatterns(['/s/'])).toBe('/s/');
    expect(joinPatterns(['/st', '/t/'])).toBe('/st/t/');
    expect(joinPatterns([String(/\/y\//)])).toBe('/\\/y\\//');
    expect(joinPatterns(['/re', String(/^\/z\d+$/)])).toBe('/re/^\\/z\\d+$/');
  });

  it('splits a compiled path array at its top-level alternatives only', () => {
    expect(topLevelAlternatives('^\\/v1\\/?(?=\\/|$)|^\\/v2\\/?(?=\\/|$)')).toEqual([
      '^\\/v1\\/?(?=\\/|$)',
      '^\\/v2\\/?(?=\\/|$)',
    ]);
    expect(topLevelAlternatives('^\\/(a|b)[|]\\|c$')).toEqual(['^\\/(a|b)[|]\\|c$']);
  });

  it.each([
    ['*', true],
    ['/api*', true],
    ['/files/(.*)', true],
    ['/*splat', true],
    ['/{*rest}', true],
    ['/api/v1*path', true],
    ['/users/:id', false],
    ['/a*b/c', false],
    ['/files/{*rest}/x', false],
  ])('%s ends in a wildcard: %s', (text, expected) => {
    expect(endsInWildcard(text)).toBe(expected);
  });
});
