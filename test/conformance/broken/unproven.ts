// MUST requirements that have checks but no broken variant, each with the reason no proxy
// variant can break it without breaking most of the suite with it (so the variant could not
// prove anything about this requirement's check). Kept short: every other checked MUST is
// proven by a variant in this folder (test/conformance/coverage.test.ts enforces both).
export const unprovenMusts: Readonly<Record<string, string>> = {
  'SSP-TRANSPORT-1': 'every check sends its messages as application/json: refusing it fails every check, so its own check proves nothing more',
  'SSP-OPEN-1': 'every annex check opens its sessions through ctx.open, which requires 200 session: a server refusing opens fails them all',
  'SSP-SIGNATURE-8': 'every session is first polled or closed with the signature of its session message: refusing it fails every annex check',
  'SSP-OPEN-8': 'making sessions share state through a proxy also mixes the sessions of concurrently running checks, so the failures would be unrelated ones',
  'SSP-SIGNATURE-7': 'serving one session\'s data to another through a proxy also mixes the sessions of concurrently running checks (same reason as SSP-OPEN-8)',
  'SSP-SIGNATURE-1': 'schema-enforced: the runner validates every body it receives (wire check), so a malformed signature fails every check that receives one',
  'SSP-DISCOVERY-2': 'schema-enforced: an invalid discovery document fails the runner\'s own discovery fetch and the wire check of every GET',
  'SSP-DISCOVERY-4': 'schema-enforced (discovery.schema.json gives each limit its minimum): same as SSP-DISCOVERY-2',
  'SSP-TERMINATION-12': 'schema-enforced (termination.schema.json forbids error unless reason is error): the wire check fails every check receiving such a termination',
  'SSP-DISCOVERY-8': 'schema-enforced (discovery.schema.json gives maxBatchBytes, maxBodyBytes and idleTimeoutMs their lower bounds): same as SSP-DISCOVERY-2',
  'SSP-DISCOVERY-9': 'the broken variants proxy the reference server in conformance mode, which offers only annex streams, all with params schemas: the check is a note there',
  'SSP-ERROR-6': 'a server that stops serving after a malformed request fails whichever concurrent checks come next, not only this one',
};
