// The Redis entry format: what every instance of the reference server, `xanjax publish`, and a
// producer in any language write and read. README "Scaling out" documents it for other
// languages; change it only with a new key prefix.
//
// A channel is a topic (`topic:NAME`) or one session's own stream (`session:ID`). Its keys
// share the hash tag `{CHANNEL}` (one Redis Cluster slot):
//   xanjax:{CHANNEL}:log   a Redis Stream; event n is the entry with ID `n-0` and one field,
//                          `data`, the event's data as JSON text (UTF-8). The stream's end is
//                          the entry `n-1` (n = the last event) with field `end`, JSON
//                          `{"reason":"complete"}` or `{"reason":"error","error":{…},"advice":…}`.
//   xanjax:{CHANNEL}:seq   the newest event number (an integer, INCR'ed by the append script).
//   xanjax:{CHANNEL}:wake  a pub/sub channel: the append script publishes the newest number,
//                          which wakes held polls on every instance (no busy polling).
//   xanjax:{CHANNEL}:ack   a session's own stream only: the position its reader acknowledged
//                          (written by the servers' ACK_SCRIPT, which trims the stream).
// The stream is the only copy: every instance reads positions, the retained range (its first
// entry) and the end from it, so all of them answer any position identically.
// Appends go through APPEND_SCRIPT (EVAL), which numbers, stores and announces atomically.
// Instance-side state (not written by producers):
//   xanjax:term:ID         a session's remembered termination (the answer body), PX = memory.
//   xanjax:session:ID      a live session's record (JSON), PX = idle + hold, renewed on use;
//                          a multiplexed session's is a hash: `s:SID` a stream's record, `t:SID`
//                          its termination (its own channel is `session:ID/SID`).
//   xanjax:lease:ID        the instance that runs the session's producer, PX = lease time.
//   xanjax:keys            a hash: signing-key id → JSON {first, last}, when instances signed
//                          with it (ms since the epoch; ids only, never secrets).

export const KEY_PREFIX = 'xanjax:';

export interface ChannelKeys {
  log: string;
  seq: string;
  wake: string;
  ack: string;
}

export function channelKeys(channel: string): ChannelKeys {
  const tag = `${KEY_PREFIX}{${channel}}:`;
  return { log: `${tag}log`, seq: `${tag}seq`, wake: `${tag}wake`, ack: `${tag}ack` };
}

export const topicChannel = (topic: string) => `topic:${topic}`;
export const sessionChannel = (sessionId: string) => `session:${sessionId}`;
export const terminationKey = (sessionId: string) => `${KEY_PREFIX}term:${sessionId}`;
export const sessionKey = (sessionId: string) => `${KEY_PREFIX}session:${sessionId}`;
export const leaseKey = (sessionId: string) => `${KEY_PREFIX}lease:${sessionId}`;
export const SIGNING_KEYS_KEY = `${KEY_PREFIX}keys`;

/**
 * EVAL APPEND_SCRIPT 3 <log> <seq> <wake> <keep> <json> [<json> …]
 * Appends each JSON text as the next event, keeping the <keep> newest entries (use the
 * servers' retainEvents or more), announces the newest number on <wake>, and returns it.
 * Refuses to append after the stream's end.
 */
export const APPEND_SCRIPT = `local n = tonumber(redis.call('GET', KEYS[2]) or '0')
if redis.call('EXISTS', KEYS[1]) == 1 and #redis.call('XRANGE', KEYS[1], n .. '-1', n .. '-1') > 0 then
  return redis.error_reply('ENDED the stream has ended')
end
for i = 2, #ARGV do
  n = redis.call('INCR', KEYS[2])
  redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], n .. '-0', 'data', ARGV[i])
end
redis.call('PUBLISH', KEYS[3], n)
return n`;

/**
 * EVAL APPEND_AT_SCRIPT 3 <log> <seq> <wake> <keep> <first> <json> [<json> …]
 * The servers' own append for a session's producer: the events are numbered <first>,
 * <first>+1, …; those already present (a retried append whose first reply was lost, or a
 * producer restarted on another instance behind the stored head) are skipped, so an append
 * is idempotent. Returns the newest number.
 */
export const APPEND_AT_SCRIPT = `local n = tonumber(redis.call('GET', KEYS[2]) or '0')
if #redis.call('XRANGE', KEYS[1], n .. '-1', n .. '-1') > 0 then return n end
local seq = tonumber(ARGV[2])
for i = 3, #ARGV do
  if seq == n + 1 then
    n = redis.call('INCR', KEYS[2])
    redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], n .. '-0', 'data', ARGV[i])
  end
  seq = seq + 1
end
redis.call('PUBLISH', KEYS[3], n)
return n`;

/**
 * EVAL END_SCRIPT 3 <log> <seq> <wake> <json>
 * Records the stream's end after its newest event (entry `n-1`), once; returns n.
 */
export const END_SCRIPT = `local n = tonumber(redis.call('GET', KEYS[2]) or '0')
if #redis.call('XRANGE', KEYS[1], n .. '-1', n .. '-1') == 0 then
  redis.call('XADD', KEYS[1], n .. '-1', 'end', ARGV[1])
  redis.call('PUBLISH', KEYS[3], n)
end
return n`;

/**
 * EVAL READ_SCRIPT 2 <log> <seq> <from> <count>
 * One consistent view of a channel: {newest number, [first retained entry], [end entry],
 * [up to <count> events numbered <from> or more]}. The first retained entry decides a gap
 * (spec §9), the same on every instance.
 */
export const READ_SCRIPT = `local n = tonumber(redis.call('GET', KEYS[2]) or '0')
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local ended = redis.call('XRANGE', KEYS[1], n .. '-1', n .. '-1')
local events = {}
if tonumber(ARGV[2]) > 0 and tonumber(ARGV[1]) <= n then
  events = redis.call('XRANGE', KEYS[1], ARGV[1] .. '-0', n .. '-0', 'COUNT', ARGV[2])
end
return {n, first, ended, events}`;

/**
 * EVAL ACK_SCRIPT 3 <log> <seq> <ack> <position>
 * A session's reader holds every event up to <position>: the stream keeps the previously
 * acknowledged batch (a re-sent signature is re-delivered, spec §9) and drops what is older.
 */
export const ACK_SCRIPT = `local a = tonumber(redis.call('GET', KEYS[3]) or '0')
local p = math.min(tonumber(ARGV[1]), tonumber(redis.call('GET', KEYS[2]) or '0'))
if p <= a then return a end
redis.call('XTRIM', KEYS[1], 'MINID', (a + 1) .. '-0')
redis.call('SET', KEYS[3], p)
return p`;

/** A stream entry ID → its event number, and whether it is the end marker. */
export function parseEntryId(id: string): { seq: number; end: boolean } {
  const dash = id.indexOf('-');
  return { seq: Number(id.slice(0, dash)), end: id.slice(dash + 1) !== '0' };
}
