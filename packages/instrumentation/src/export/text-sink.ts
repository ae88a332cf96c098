/** Code units gathered in a string before they are encoded into the current chunk. */
const PENDING = 32 * 1024;

/**
 * Bytes of one chunk of the output. Chunks are never grown or copied: at 50,000 histogram series
 * (77 MB of text) one buffer that doubled as it filled, and the exact copy made of it at the end,
 * cost a quarter of a second per scrape, mostly in page faults on memory the copies touched
 * first, and each copy of 64 MB held the event loop for tens of milliseconds. A mebibyte keeps
 * encoding at one call per 32K code units and wastes little at the end of a chunk.
 */
export const CHUNK_BYTES = 1024 * 1024;

/**
 * The chunks of answers no scrape reads any more, for the next answer to write into. Memory
 * allocated outside V8's heap counts towards its collections: 77 MB of fresh chunks per scrape
 * started a full collection of the heap during nearly every scrape at 50,000 series, each holding
 * the event loop for 3-40 ms, and every fresh page was faulted in once more. From the pool a
 * scrape of the same size allocates nothing. It keeps at most as many chunks as the last answer
 * written used, so an app holds between scrapes about the memory a scrape needs anyway, and
 * less once its answers shrink.
 */
class ChunkPool {
  private readonly free: Buffer[] = [];
  private limit = 0;

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES);
  }

  give(chunks: readonly Buffer[]): void {
    for (const chunk of chunks) {
      if (this.free.length >= this.limit) return;
      this.free.push(chunk);
    }
  }

  /** An answer of `chunks` chunks was written: the pool keeps no more than that. */
  fit(chunks: number): void {
    this.limit = chunks;
    if (this.free.length > chunks) this.free.length = chunks;
  }

  /** Chunks waiting in the pool (tests). */
  get size(): number {
    return this.free.length;
  }
}

export const CHUNK_POOL = new ChunkPool();

/**
 * Bytes in chunks, shared by everyone who reads them: an answer is read by the scrapes it
 * serves, each sending it at its own pace, and by its gzip. Each reader holds it while it reads;
 * when the last one lets go, its chunks return to the pool and are written over by a later
 * answer. A reader that never lets go only keeps the chunks from the pool, which is safe; one
 * that lets go twice would hand out memory still being read, so a release beyond the holds is
 * ignored.
 */
export class Body {
  private holds = 1;

  constructor(
    /** The bytes, in the order they are sent; read them only while holding the body. */
    readonly chunks: readonly Buffer[],
    /** The chunks as allocated, which go back to the pool (empty for memory not pooled). */
    private readonly pooled: readonly Buffer[],
  ) {}

  /** One more reader, until it calls release(). */
  hold(): void {
    if (this.holds === 0) throw new Error('a body was held after its chunks were released');
    this.holds++;
  }

  release(): void {
    if (this.holds === 0) return;
    if (--this.holds === 0) CHUNK_POOL.give(this.pooled);
  }
}

/** Memory the pool does not own (the protobuf writer's buffer), as a body. */
export function unpooled(bytes: Buffer): Body {
  return new Body([bytes], []);
}

/**
 * Gathers a long text made of many short pieces, as UTF-8 in chunks. Appending them all to one
 * string builds a rope of a hundred thousand nodes spread over the heap, and flattening it when
 * the response is written cost more than making the lines (12 ms against 3.5 ms for 2,000
 * histogram series). Here short pieces are joined while they are fresh in memory, and every 32K
 * code units are encoded into the current chunk; the chunks are the answer as it is sent.
 */
export class TextSink {
  private readonly views: Buffer[] = [];
  private readonly owned: Buffer[] = [];
  private chunk: Buffer | undefined;
  private used = 0;
  private pending = '';

  add(text: string): void {
    this.pending += text;
    if (this.pending.length >= PENDING) this.flush();
  }

  /** Everything added, as one string (in-process reads; a scrape sends the chunks). */
  text(): string {
    const body = this.bytes();
    const text = Buffer.concat(body.chunks).toString('utf8');
    body.release();
    return text;
  }

  /**
   * Everything added, as UTF-8 bytes in chunks: what a response sends, without decoding to a
   * string and encoding it again (at 3 MB that round trip cost more than writing the text), nor
   * copying the chunks into one buffer. The caller holds the body; nothing more can be added.
   */
  bytes(): Body {
    this.flush();
    if (this.chunk !== undefined && this.used > 0) {
      this.views.push(this.chunk.subarray(0, this.used));
    }
    this.chunk = undefined;
    CHUNK_POOL.fit(this.owned.length);
    return new Body(this.views, this.owned);
  }

  private flush(): void {
    const text = this.pending;
    if (text === '') return;
    this.pending = '';
    // A UTF-16 code unit takes at most 3 bytes of UTF-8 (a surrogate pair, two units, takes 4).
    const needed = text.length * 3;
    if (this.chunk === undefined || this.used + needed > this.chunk.length) {
      if (this.chunk !== undefined && this.used > 0) {
        this.views.push(this.chunk.subarray(0, this.used));
      }
      // A piece longer than a chunk gets a buffer of its own, which is not pooled.
      this.chunk = needed > CHUNK_BYTES ? Buffer.allocUnsafeSlow(needed) : CHUNK_POOL.take();
      if (needed <= CHUNK_BYTES) this.owned.push(this.chunk);
      this.used = 0;
    }
    this.used += this.chunk.write(text, this.used, 'utf8');
  }
}
