// Small helpers the broken variants share to recognise and rewrite SSP/1 exchanges.
import type { ProxyRequest, ProxyResponse, Variant } from './proxy.ts';

export type Message = Record<string, unknown>;
export type Event = { seq: number; data: unknown };

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export const isPoll = (req: ProxyRequest) => req.message?.type === 'poll';
export const isBatch = (res: ProxyResponse) => res.message?.type === 'batch';
export const eventsOf = (res: ProxyResponse) => (res.message?.events ?? []) as Event[];
export const sigOf = (req: ProxyRequest) => (typeof req.message?.sig === 'string' ? req.message.sig : undefined);

/** Replace response headers that are present; `null` removes one. */
export function headers(edit: Record<string, string | null>) {
  return (res: ProxyResponse): ProxyResponse => {
    const next = { ...res.headers };
    for (const [name, value] of Object.entries(edit)) {
      if (value === null) delete next[name];
      else if (name in next) next[name] = value;
    }
    return { ...res, headers: next };
  };
}

/** Answers carrying error `code` get HTTP `status` instead of the one the registry gives the code. */
export function statusForError(code: string, status: number) {
  return (res: ProxyResponse): ProxyResponse => (res.message?.type === 'error' && res.message.code === code ? { ...res, status } : res);
}

/** The response with its message's members replaced. */
export function edit(res: ProxyResponse, members: Message): ProxyResponse {
  return { ...res, message: { ...res.message, ...members } };
}

/** The response with `change` applied to the data of every event. */
export function mapData(res: ProxyResponse, change: (data: Message, event: Event) => unknown): ProxyResponse {
  return edit(res, { events: eventsOf(res).map((event) => ({ ...event, data: change(event.data as Message, event) })) });
}

/**
 * Rewrite the discovery document of every GET after the first (the runner's own fetch stays
 * valid, so the run can start) and of every HEAD (forwarded as GET by the proxy), so that HEAD
 * announces the rewritten document's length like the GET it mirrors (SSP-TRANSPORT-15).
 */
export function laterDiscovery(change: (document: Message) => Message, fromFirst = false): Variant['create'] {
  return () => {
    let gets = fromFirst ? 1 : 0;
    return {
      response: (res: ProxyResponse, req: ProxyRequest) => {
        if (res.message?.type !== 'discovery' || (req.method !== 'HEAD' && (req.method !== 'GET' || gets++ === 0))) return res;
        return { ...res, message: change(res.message) };
      },
    };
  };
}
