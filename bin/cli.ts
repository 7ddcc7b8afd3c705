// `xanjax <command>`: each command lives beside the component it drives and exports
// `main(argv) => Promise<exitCode>`; modules load lazily so `--help` stays instant.
type Command = { summary: string; load: () => Promise<{ main(argv: string[]): Promise<number> }> };

const commands: Record<string, Command> = {
  types: {
    summary: 'write the SSP/1 TypeScript types and bundled JSON Schemas (--out DIR)',
    load: () => import('../schemas/cli.ts'),
  },
  serve: {
    summary: 'run the reference SSP/1 server (--port, --conformance, --demo, --exec CMD, ...)',
    load: () => import('../reference-server/cli.ts'),
  },
  conformance: {
    summary: 'test any SSP/1 server: xanjax conformance <endpoint-url> [options]',
    load: () => import('../conformance/cli.ts'),
  },
  'conformance-client': {
    summary: 'test any SSP/1 client program: xanjax conformance-client [options] -- <command>',
    load: () => import('../conformance/client/cli.ts'),
  },
  publish: {
    summary: 'append events to a topic of a file or Redis log: xanjax publish --log LOG TOPIC [JSON]',
    load: () => import('../reference-server/durable/publish-cli.ts'),
  },
  tail: {
    summary: 'print a stream\'s events as they arrive: xanjax tail <endpoint-url> <stream>',
    load: () => import('../reference-client/cli.ts'),
  },
};

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: xanjax <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `xanjax <command> --help` for a command\'s options; `xanjax --version` prints the version.',
  ].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v') {
    console.log((await import('../schemas/package-root.ts')).packageVersion);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`xanjax: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return (await command.load()).main(rest);
}
