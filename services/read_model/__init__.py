"""The read model of Gold, for its consumers (publish_api, api, the CLI): one Gold version's
tables in memory, the queries and answers computed from them, and which version is live.

It sits after build_gold in the flow (it reads what build_gold writes) and before every consumer,
so a consumer never imports another consumer and build_gold imports none of them."""
