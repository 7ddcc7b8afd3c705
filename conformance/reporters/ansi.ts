// Terminal colours, only when the output is a terminal and NO_COLOR is not set
// (https://no-color.org: any non-empty value disables colour).
export type Paint = (style: 'red' | 'green' | 'yellow' | 'magenta' | 'cyan' | 'dim' | 'bold', text: string) => string;

const codes = { red: 31, green: 32, yellow: 33, magenta: 35, cyan: 36, dim: 2, bold: 1 } as const;

export function wantsColor(isTTY: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  return isTTY === true && !env.NO_COLOR;
}

export function painter(color: boolean): Paint {
  return color ? (style, text) => `\x1b[${codes[style]}m${text}\x1b[0m` : (_style, text) => text;
}
