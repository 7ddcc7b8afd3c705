// The part of faye (no bundled types) that the benchmark's adapter uses.
declare module 'faye' {
  interface Extension {
    incoming?(message: any, callback: (message: any) => void): void;
    outgoing?(message: any, callback: (message: any) => void): void;
  }
  class NodeAdapter {
    constructor(options: { mount: string; timeout?: number });
    attach(server: import('node:http').Server): void;
    addExtension(extension: Extension): void;
    getClient(): { publish(channel: string, data: unknown): unknown };
  }
  const faye: { NodeAdapter: typeof NodeAdapter };
  export default faye;
}
