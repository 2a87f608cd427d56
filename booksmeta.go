// Package booksmeta holds the domain's nouns: the users, slots, bookings,
// deals, notices and webhook events that every other package talks about,
// and the one refusal type every rule answers with (Error, its codes and
// the one table from codes to HTTP statuses), with no handler and no SQL.
// It is at the centre of the import graph: it imports nothing of this
// module, and store (SQL), the rule packages (booking, enrol, accounts,
// schedule) and the transports (api, web, webhook, cli) import it. The
// idea is benbjohnson/wtf's root package.
package booksmeta
