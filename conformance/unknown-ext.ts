// Extension members that no server understands (spec §6.5), in the shapes an owner may use:
// a reverse-domain name carrying nested objects and arrays, a URN carrying null. The runner
// sends them in every open, poll and close a check makes through its context, and a server
// must process each such message as without them (SSP-EXT-1).
export const unknownExt = { 'org.xanjax.conformance.unknown': { nested: { list: [1, 'two', null] } }, 'urn:xanjax:conformance:flag': null } as const;
