// What the benchmark's processes share: the event every peer carries, the peer adapters'
// two halves, and the messages between the orchestrator and its child processes.

/** The payload of every benchmark event: `i` counts publishes from 1, `t` is when it was published (epoch ms, fractional). */
export interface BenchEvent {
  i: number;
  t: number;
}

/** Epoch milliseconds with sub-millisecond resolution, comparable across processes on one machine. */
export const now = (): number => performance.timeOrigin + performance.now();

/** Server half of a peer, run in its own process (bench/server-main.ts). */
export interface PeerServer {
  /** Where the load generator connects (peer-specific URL). */
  url: string;
  /** Publishes one event to every session (a broadcast). */
  publish(event: BenchEvent): void;
  /** Polls held now, as the server itself counts them. */
  held(): number | Promise<number>;
  /** CPU (µs, user + system) and memory of the process(es) that serve; defaults to this process. */
  usage?(): Promise<ServerUsage>;
  close(): Promise<void>;
}

export interface ServerUsage {
  cpuMicros: number;
  /** Heap in use after a full GC (undefined for native servers). */
  heapBytes?: number;
  rssBytes: number;
}

/** What one poll brought: events, and how many events the server reported as a gap. */
export interface PollResult {
  events: BenchEvent[];
  gap: number;
}

/** Client half of a peer, in the load generator: one session over one connection. */
export interface PeerSession {
  /** Opens the session (handshake, subscribe); resolves before the first poll. */
  open(): Promise<void>;
  /**
   * One long poll. Rejects on a transport or protocol error. A session that carries several
   * streams (multiplexed) answers one result per stream, in the order of its streams.
   */
  poll(): Promise<PollResult | PollResult[]>;
  close(): Promise<void>;
}

export interface PeerOptions {
  /** Longest hold in ms (servers that take it as a setting). */
  holdMs: number;
  /** Largest number of events one answer carries where the server has such a limit. */
  maxBatch: number;
  /** Event log of the reference server: memory, or a durable log's URL (`--log`). */
  log?: string;
  /**
   * The multiplexing scenario (docs/bench.md): the server offers this many topics
   * (`bench-0` …) and a publish goes to each; a multiplexed session follows all of them, a
   * single-stream session one (`bench-<index mod topics>`). Absent: one topic `bench`.
   */
  topics?: number;
}

export interface Peer {
  name: string;
  /** Why it cannot run here, if it cannot (a missing binary). */
  unavailable?(): string | undefined;
  startServer(options: PeerOptions): Promise<PeerServer>;
  /** Streams one session carries (a multiplexed one several); 1 when absent. */
  streamsPerSession?(options: PeerOptions): number;
  /** `index` counts the load generator's sessions from 0. */
  session(url: string, origin: string, options: PeerOptions, index: number): PeerSession;
}

// Orchestrator ⇄ children (IPC).
export type ServerCommand =
  | { cmd: 'publish'; count: number; intervalMs: number }
  | { cmd: 'usage'; gc: boolean }
  | { cmd: 'held' }
  | { cmd: 'close' };

export type LoadCommand =
  | { cmd: 'open'; n: number; concurrency: number }
  | { cmd: 'reset' }
  | { cmd: 'stats'; last?: number }
  | { cmd: 'close' };
