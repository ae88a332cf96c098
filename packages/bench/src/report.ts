/** Tables and the chart of the results. */
import { median, table } from './proc.js';

export interface ThroughputRow {
  label: string;
  rps: number;
  ratio: number;
  p50ms: number;
  p99ms: number;
  cpuUsPerRequest: number;
  idleRssMiB: number;
  peakRssMiB: number;
  errors: number;
}

/** A traced variant's row: `ratio` is to bare Express with the same tracing. */
export interface TracedRow extends ThroughputRow {
  /** Median of the per-round ratios to bare Express without tracing: what tracing costs too. */
  ratioUntraced: number;
}

/** Ours with exemplars on against off, both traced, from the same rounds. */
export interface ExemplarCost {
  /** Per round, server CPU per request with exemplars on minus off, in µs. */
  cpuUsDiffs: number[];
  /** Per round, throughput with exemplars on over off. */
  rpsRatios: number[];
  /** Exemplars in one OpenMetrics scrape after the rounds, with exemplars on and off. */
  exemplarsOn: number;
  exemplarsOff: number;
}

export interface ScrapeRow {
  label: string;
  series: number;
  ms: number;
  ratio: number;
  plainBytes: number;
  gzipBytes: number;
  cpuMsPerScrape: number;
  rssMiB: number;
}

const f = (n: number, digits = 2): string => n.toFixed(digits);
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;

const THROUGHPUT_HEAD = [
  'variant',
  'req/s (median)',
  'vs bare',
  'p50',
  'p99',
  'server CPU per request',
  'idle RSS',
  'peak RSS',
  'errors',
];

function throughputCells(r: ThroughputRow): string[] {
  return [
    r.label,
    f(r.rps, 0),
    `${f(r.ratio)}x`,
    `${f(r.p50ms)} ms`,
    `${f(r.p99ms)} ms`,
    `${f(r.cpuUsPerRequest, 1)} µs`,
    `${f(r.idleRssMiB, 1)} MiB`,
    `${f(r.peakRssMiB, 1)} MiB`,
    String(r.errors),
  ];
}

export function throughputTable(rows: readonly ThroughputRow[]): string {
  return table(THROUGHPUT_HEAD, rows.map(throughputCells));
}

/** The throughput table's columns, the ratio to bare + tracing and then to untraced bare. */
export function tracedTable(rows: readonly TracedRow[]): string {
  return table(
    [
      ...THROUGHPUT_HEAD.slice(0, 2),
      'vs bare + tracing',
      'vs bare (no tracing)',
      ...THROUGHPUT_HEAD.slice(3),
    ],
    rows.map((r) => {
      const cells = throughputCells(r);
      return [...cells.slice(0, 3), `${f(r.ratioUntraced)}x`, ...cells.slice(3)];
    }),
  );
}

/** The median of each per-round figure, with the rounds' own figures beside it. */
export function exemplarTable(cost: ExemplarCost): string {
  const signed = (n: number): string => `${n >= 0 ? '+' : ''}${f(n, 1)} µs`;
  return table(
    ['exemplars on vs off (both traced)', 'median of the rounds', 'per round'],
    [
      [
        'server CPU per request, on minus off',
        signed(median(cost.cpuUsDiffs)),
        cost.cpuUsDiffs.map(signed).join(', '),
      ],
      [
        'throughput, on / off',
        `${f(median(cost.rpsRatios))}x`,
        cost.rpsRatios.map((r) => `${f(r)}x`).join(', '),
      ],
      [
        'exemplars in an OpenMetrics scrape after the rounds',
        `on: ${cost.exemplarsOn}, off: ${cost.exemplarsOff}`,
        '',
      ],
    ],
  );
}

export function scrapeTable(rows: readonly ScrapeRow[]): string {
  return table(
    [
      'variant',
      'histogram series',
      'scrape (median)',
      'vs prom-client',
      'bytes',
      'bytes (gzip asked)',
      'server CPU per scrape',
      'RSS',
    ],
    rows.map((r) => [
      r.label,
      String(r.series),
      `${f(r.ms, 1)} ms`,
      `${f(r.ratio)}x`,
      kib(r.plainBytes),
      kib(r.gzipBytes),
      `${f(r.cpuMsPerScrape, 1)} ms`,
      `${f(r.rssMiB, 1)} MiB`,
    ]),
  );
}

/** Horizontal bar charts of ratios, each group on its own scale, with a line at 1. */
export function ratioChart(
  groups: Array<{ title: string; bars: Array<{ label: string; value: number }> }>,
): string {
  const width = 720;
  const left = 300;
  const barH = 22;
  let y = 10;
  const parts: string[] = [];
  for (const g of groups) {
    const scale = (width - left - 60) / Math.max(1.2, ...g.bars.map((b) => b.value));
    parts.push(`<text x="10" y="${y + 16}" font-weight="bold">${g.title}</text>`);
    y += 28;
    const top = y;
    for (const b of g.bars) {
      parts.push(
        `<text x="${left - 8}" y="${y + 15}" text-anchor="end">${b.label}</text>`,
        `<rect x="${left}" y="${y + 2}" width="${(b.value * scale).toFixed(1)}" height="${barH - 6}" fill="#3b73b9"/>`,
        `<text x="${left + b.value * scale + 6}" y="${y + 15}">${b.value.toFixed(2)}x</text>`,
      );
      y += barH;
    }
    parts.push(
      `<line x1="${left + scale}" y1="${top}" x2="${left + scale}" y2="${y}" stroke="#c33" stroke-dasharray="4 3"/>`,
    );
    y += 14;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" font-family="sans-serif" font-size="13">`,
    '<rect width="100%" height="100%" fill="white"/>',
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

export interface Target {
  target: string;
  measured: string;
  met: boolean;
}

/** The targets, each judged on this run's figures. */
export function targets(
  t: readonly ThroughputRow[],
  s: readonly ScrapeRow[],
  gzipServed: boolean,
): Target[] {
  const [bare, ...others] = t;
  const ours = t[t.length - 1] as ThroughputRow;
  const rivals = others.slice(0, -1);
  const prom = s[0] as ScrapeRow;
  const oursScrape = s[s.length - 1] as ScrapeRow;
  return [
    {
      target: 'throughput >= 0.97x bare Express',
      measured: `${f(ours.ratio)}x`,
      met: ours.ratio >= 0.97,
    },
    {
      target: 'throughput ahead of every other variant',
      measured: rivals.map((r) => `${r.label} ${f(r.ratio)}x`).join(', '),
      met: rivals.every((r) => ours.ratio > r.ratio),
    },
    {
      target: 'scrape at 2,000 series <= 0.5x prom-client',
      measured: `${f(oursScrape.ratio)}x`,
      met: oursScrape.ratio <= 0.5,
    },
    {
      target: 'gzip when the scraper asks for it',
      measured: gzipServed
        ? `${kib(oursScrape.gzipBytes)} instead of ${kib(oursScrape.plainBytes)}`
        : 'not served',
      met: gzipServed,
    },
    {
      target: 'idle RSS within 10 MiB of bare Express',
      measured: `${f(ours.idleRssMiB - (bare as ThroughputRow).idleRssMiB, 1)} MiB more`,
      met: ours.idleRssMiB - (bare as ThroughputRow).idleRssMiB <= 10,
    },
    {
      target: "RSS at 2,000 series <= prom-client's",
      measured: `${f(oursScrape.rssMiB, 1)} vs ${f(prom.rssMiB, 1)} MiB`,
      met: oursScrape.rssMiB <= prom.rssMiB,
    },
  ];
}

export function targetTable(rows: readonly Target[]): string {
  return table(
    ['target', 'measured', 'met'],
    rows.map((r) => [r.target, r.measured, r.met ? 'yes' : '**no**']),
  );
}
