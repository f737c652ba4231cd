package storage

// migrations are applied in order; schema_version records how many ran.
// Never edit a released migration: append a new one.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE inputs (
	id          INTEGER PRIMARY KEY,
	path        TEXT    NOT NULL,
	format      TEXT    NOT NULL,
	sha256      TEXT    NOT NULL,
	size        INTEGER NOT NULL DEFAULT 0,
	exchanges   INTEGER NOT NULL DEFAULT 0,
	connections INTEGER NOT NULL DEFAULT 0,
	packets     INTEGER NOT NULL DEFAULT 0,
	warnings    TEXT    NOT NULL DEFAULT '[]',
	stats       TEXT    NOT NULL DEFAULT '{}',
	started     INTEGER NOT NULL,
	completed   INTEGER,
	complete    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX inputs_sha256 ON inputs(sha256);

CREATE TABLE connections (
	input_id    INTEGER NOT NULL REFERENCES inputs(id) ON DELETE CASCADE,
	no          INTEGER NOT NULL,
	client      TEXT    NOT NULL DEFAULT '',
	server      TEXT    NOT NULL DEFAULT '',
	tls         INTEGER NOT NULL DEFAULT 0,
	sni         TEXT    NOT NULL DEFAULT '',
	alpn        TEXT    NOT NULL DEFAULT '',
	tls_version TEXT    NOT NULL DEFAULT '',
	cipher      TEXT    NOT NULL DEFAULT '',
	decrypted   INTEGER NOT NULL DEFAULT 0,
	first_seen  INTEGER,
	last_seen   INTEGER,
	packets     INTEGER NOT NULL DEFAULT 0,
	bytes       INTEGER NOT NULL DEFAULT 0,
	warnings    TEXT,
	PRIMARY KEY (input_id, no)
) WITHOUT ROWID;

CREATE TABLE exchanges (
	id                   INTEGER PRIMARY KEY,
	input_id             INTEGER NOT NULL REFERENCES inputs(id) ON DELETE CASCADE,
	entry_index          INTEGER NOT NULL DEFAULT -1,
	first_packet         INTEGER NOT NULL DEFAULT 0,
	last_packet          INTEGER NOT NULL DEFAULT 0,
	offset               INTEGER NOT NULL DEFAULT 0,
	conn_no              INTEGER NOT NULL DEFAULT 0,
	stream_id            INTEGER NOT NULL DEFAULT 0,
	started              INTEGER,
	resp_started         INTEGER,
	ended                INTEGER,
	client               TEXT NOT NULL DEFAULT '',
	server               TEXT NOT NULL DEFAULT '',
	tls                  INTEGER NOT NULL DEFAULT 0,
	proto                TEXT NOT NULL DEFAULT '',
	method               TEXT NOT NULL DEFAULT '',
	scheme               TEXT NOT NULL DEFAULT '',
	host                 TEXT NOT NULL DEFAULT '',
	port                 INTEGER NOT NULL DEFAULT 0,
	path                 TEXT NOT NULL DEFAULT '',
	query                TEXT NOT NULL DEFAULT '',
	status               INTEGER NOT NULL DEFAULT 0,
	status_text          TEXT NOT NULL DEFAULT '',
	request_headers      TEXT NOT NULL DEFAULT '[]',
	response_headers     TEXT NOT NULL DEFAULT '[]',
	request_body_bytes   INTEGER NOT NULL DEFAULT 0,
	response_body_bytes  INTEGER NOT NULL DEFAULT 0,
	warnings             TEXT,
	resource_type        TEXT NOT NULL DEFAULT '',
	source_request_id    TEXT NOT NULL DEFAULT '',
	initiator_request_id TEXT NOT NULL DEFAULT '',
	from_cache           INTEGER NOT NULL DEFAULT 0,
	upgrade              TEXT NOT NULL DEFAULT '',
	preflight_id         INTEGER,
	-- CORS-relevant header values (first field of each), so queries need no JSON.
	origin               TEXT,
	acao                 TEXT,
	acac                 TEXT,
	acam                 TEXT,
	acah                 TEXT,
	aceh                 TEXT,
	acma                 TEXT,
	acrm                 TEXT,
	acrh                 TEXT,
	vary                 TEXT,
	sec_fetch_site       TEXT,
	sec_fetch_mode       TEXT
);
CREATE INDEX exchanges_host_path ON exchanges(host, path);
CREATE INDEX exchanges_method    ON exchanges(method);
CREATE INDEX exchanges_origin    ON exchanges(origin) WHERE origin IS NOT NULL;
CREATE INDEX exchanges_started   ON exchanges(started);
CREATE INDEX exchanges_input     ON exchanges(input_id);
CREATE INDEX exchanges_preflight ON exchanges(preflight_id) WHERE preflight_id IS NOT NULL;

CREATE TABLE bodies (
	exchange_id INTEGER NOT NULL,
	dir         INTEGER NOT NULL, -- 0 request, 1 response
	data        BLOB    NOT NULL,
	PRIMARY KEY (exchange_id, dir)
) WITHOUT ROWID;

CREATE TABLE pairings (
	preflight_id INTEGER NOT NULL,
	actual_id    INTEGER NOT NULL,
	kind         TEXT    NOT NULL,
	PRIMARY KEY (preflight_id, actual_id)
) WITHOUT ROWID;
CREATE INDEX pairings_actual ON pairings(actual_id);

CREATE TABLE runs (
	id       INTEGER PRIMARY KEY,
	started  INTEGER NOT NULL,
	finished INTEGER,
	version  TEXT NOT NULL DEFAULT '',
	stats    TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE findings (
	id            INTEGER PRIMARY KEY,
	run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
	fingerprint   TEXT NOT NULL,
	rule          TEXT NOT NULL,
	severity      TEXT NOT NULL,
	severity_rank INTEGER NOT NULL,
	title         TEXT NOT NULL DEFAULT '',
	host          TEXT NOT NULL DEFAULT '',
	endpoint      TEXT NOT NULL DEFAULT '',
	path_template TEXT NOT NULL DEFAULT '',
	method        TEXT NOT NULL DEFAULT '',
	origin        TEXT NOT NULL DEFAULT '',
	origin_class  TEXT NOT NULL DEFAULT '',
	evidence      TEXT NOT NULL DEFAULT '[]',
	cwe           INTEGER NOT NULL DEFAULT 0,
	remediation   TEXT NOT NULL DEFAULT '',
	detail        TEXT NOT NULL DEFAULT '',
	suppressed    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX findings_run ON findings(run_id, severity_rank DESC);

CREATE TABLE finding_exchanges (
	finding_id  INTEGER NOT NULL REFERENCES findings(id) ON DELETE CASCADE,
	exchange_id INTEGER NOT NULL,
	PRIMARY KEY (finding_id, exchange_id)
) WITHOUT ROWID;
CREATE INDEX finding_exchanges_exchange ON finding_exchanges(exchange_id);

CREATE TABLE verdicts (
	exchange_id INTEGER PRIMARY KEY,
	shared      INTEGER NOT NULL,
	reason      TEXT NOT NULL DEFAULT ''
);

CREATE TABLE host_policies (
	host   TEXT PRIMARY KEY,
	policy TEXT NOT NULL
);
`,
	// 2: a finding's exchange ids live on its row as one JSON array
	// (readers index them in memory; SQL reaches them with json_each):
	// saving a million links as rows cost a second. Verdicts are stored in
	// blocks (verdicts.go); an analysis has to be re-run after the upgrade
	// to have them again. Analysis no longer writes exchanges.preflight_id:
	// that column is the ingest hint and the pairings table holds what the
	// analyzer decided. Indexes no query can use (filters match method,
	// origin and host case-insensitively or by substring) are dropped: each
	// cost a tenth of a second per 100k exchanges at ingest.
	`
DROP INDEX IF EXISTS exchanges_method;
DROP INDEX IF EXISTS exchanges_origin;
DROP INDEX IF EXISTS exchanges_preflight;
ALTER TABLE findings ADD COLUMN exchange_ids TEXT NOT NULL DEFAULT '[]';
UPDATE findings SET exchange_ids = (SELECT json_group_array(exchange_id) FROM
	(SELECT exchange_id FROM finding_exchanges fe WHERE fe.finding_id = findings.id ORDER BY exchange_id))
	WHERE EXISTS (SELECT 1 FROM finding_exchanges fe WHERE fe.finding_id = findings.id);
DROP TABLE finding_exchanges;
DROP TABLE verdicts;
CREATE TABLE verdict_blocks (
	first_id INTEGER PRIMARY KEY, -- exchange id of the block's first verdict
	data     BLOB NOT NULL         -- encoded by encodeVerdictBlock
);
`,
}

// exchangeIndexes are the secondary indexes of exchanges, as created by
// migration 1 and kept by migration 2. A bulk Writer drops them while it loads an empty table and
// builds them again at the end (one sort instead of a B-tree insert per row
// and index); Open re-creates any that a crash mid-ingest left missing.
var exchangeIndexes = []struct{ name, def string }{
	{"exchanges_host_path", "exchanges(host, path)"},
	{"exchanges_started", "exchanges(started)"},
	{"exchanges_input", "exchanges(input_id)"},
}
