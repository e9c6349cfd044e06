-- guestgate schema at revision 0032, rendered from guestgate/adapters/sql/schema.py by `python -m guestgate.adapters.sql.snapshot`; do not edit.

CREATE TABLE approval_requests (
	id VARCHAR(36) NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	status VARCHAR(32) NOT NULL, 
	email VARCHAR(320) NOT NULL, 
	requested_by VARCHAR(320), 
	sponsors TEXT NOT NULL, 
	request TEXT NOT NULL, 
	app_id VARCHAR(64), 
	asked_by VARCHAR(320), 
	created_at VARCHAR(27) NOT NULL, 
	expires_at VARCHAR(27) NOT NULL, 
	decided_at VARCHAR(27), 
	decided_by VARCHAR(320), 
	comment TEXT, 
	answer TEXT, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_approval_requests_expiry ON approval_requests (status, expires_at);

CREATE INDEX ix_approval_requests_open ON approval_requests (tenant_id, status, created_at);

CREATE TABLE audit_events (
	id BIGSERIAL NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	app_id VARCHAR(36), 
	actor VARCHAR(320), 
	action VARCHAR(64) NOT NULL, 
	target VARCHAR(400), 
	request_id VARCHAR(64), 
	details TEXT, 
	created_at VARCHAR(27) NOT NULL, 
	PRIMARY KEY (id)
);

CREATE INDEX ix_audit_tenant_id ON audit_events (tenant_id, id);

CREATE TABLE bulk_jobs (
	id VARCHAR(36) NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	app_id VARCHAR(36), 
	started_by VARCHAR(320), 
	status VARCHAR(16) NOT NULL, 
	entra BOOLEAN NOT NULL, 
	headings TEXT NOT NULL, 
	total INTEGER NOT NULL, 
	lease_until VARCHAR(27), 
	created_at VARCHAR(27) NOT NULL, 
	updated_at VARCHAR(27) NOT NULL, 
	finished_at VARCHAR(27), 
	summary_at VARCHAR(27), 
	PRIMARY KEY (id)
);

CREATE INDEX ix_bulk_jobs_status_created ON bulk_jobs (status, created_at);

CREATE INDEX ix_bulk_jobs_tenant_created ON bulk_jobs (tenant_id, created_at);

CREATE TABLE deployment (
	name VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	updated_at VARCHAR(27) NOT NULL, 
	PRIMARY KEY (name)
);

CREATE TABLE event_sequences (
	tenant_id VARCHAR(36) NOT NULL, 
	last_sequence BIGINT NOT NULL, 
	PRIMARY KEY (tenant_id)
);

CREATE TABLE events (
	id VARCHAR(36) NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	sequence BIGINT, 
	type VARCHAR(64) NOT NULL, 
	occurred_at VARCHAR(27) NOT NULL, 
	body TEXT NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_events_tenant_sequence UNIQUE (tenant_id, sequence)
);

CREATE INDEX ix_events_numbering ON events (sequence, occurred_at, id);

CREATE INDEX ix_events_tenant_time ON events (tenant_id, occurred_at);

CREATE TABLE graph_invitations (
	tenant_id VARCHAR(36) NOT NULL, 
	invitation_id VARCHAR(36) NOT NULL, 
	user_id VARCHAR(36) NOT NULL, 
	created_at VARCHAR(27) NOT NULL, 
	PRIMARY KEY (tenant_id, invitation_id)
);

CREATE INDEX ix_graph_invitations_user ON graph_invitations (tenant_id, user_id, created_at);

CREATE TABLE invitation_policies (
	tenant_id VARCHAR(36) NOT NULL, 
	definition TEXT NOT NULL, 
	allow_invites_from VARCHAR(64) NOT NULL, 
	updated_at VARCHAR(27) NOT NULL, 
	approval TEXT, 
	PRIMARY KEY (tenant_id)
);

CREATE TABLE lifecycle_attestations (
	user_id VARCHAR(36) NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	kept_at VARCHAR(27) NOT NULL, 
	kept_by VARCHAR(320) NOT NULL, 
	PRIMARY KEY (user_id)
);

CREATE TABLE lifecycle_links (
	jti VARCHAR(64) NOT NULL, 
	user_id VARCHAR(36) NOT NULL, 
	used_at VARCHAR(27) NOT NULL, 
	PRIMARY KEY (jti)
);

CREATE TABLE lifecycle_policies (
	id VARCHAR(36) NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	version INTEGER NOT NULL, 
	enabled BOOLEAN NOT NULL, 
	body TEXT NOT NULL, 
	created_at VARCHAR(27) NOT NULL, 
	modified_at VARCHAR(27) NOT NULL, 
	deleted_at VARCHAR(27), 
	PRIMARY KEY (id)
);

CREATE INDEX ix_lifecycle_policies_tenant ON lifecycle_policies (tenant_id, created_at);

CREATE TABLE lifecycle_policy_versions (
	policy_id VARCHAR(36) NOT NULL, 
	version INTEGER NOT NULL, 
	body TEXT NOT NULL, 
	created_at VARCHAR(27) NOT NULL, 
	PRIMARY KEY (policy_id, version)
);

CREATE TABLE lifecycle_steps (
	policy_id VARCHAR(36) NOT NULL, 
	version INTEGER NOT NULL, 
	user_id VARCHAR(36) NOT NULL, 
	step VARCHAR(16) NOT NULL, 
	due_on VARCHAR(10) NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	claimed_at VARCHAR(27) NOT NULL, 
	done_at VARCHAR(27), 
	PRIMARY KEY (policy_id, version, user_id, step, due_on)
);

CREATE INDEX ix_lifecycle_steps_claimed ON lifecycle_steps (status, claimed_at);

CREATE INDEX ix_lifecycle_steps_user ON lifecycle_steps (tenant_id, user_id, step);

CREATE TABLE outbox (
	id VARCHAR(36) NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	kind VARCHAR(32) NOT NULL, 
	recipient VARCHAR(320) NOT NULL, 
	payload TEXT, 
	status VARCHAR(16) NOT NULL, 
	attempts INTEGER DEFAULT '0' NOT NULL, 
	next_attempt_at VARCHAR(27) NOT NULL, 
	locked_until VARCHAR(27), 
	last_error VARCHAR(500), 
	created_at VARCHAR(27) NOT NULL, 
	sent_at VARCHAR(27), 
	PRIMARY KEY (id)
);

CREATE INDEX ix_outbox_due ON outbox (status, next_attempt_at);

CREATE TABLE pacers (
	name VARCHAR(80) NOT NULL, 
	free_at BIGINT NOT NULL, 
	PRIMARY KEY (name)
);

CREATE TABLE rate_limits (
	name VARCHAR(80) NOT NULL, 
	hits INTEGER NOT NULL, 
	window_ends BIGINT NOT NULL, 
	PRIMARY KEY (name)
);

CREATE INDEX ix_rate_limits_window_ends ON rate_limits (window_ends);

CREATE TABLE signing_keys (
	kid VARCHAR(64) NOT NULL, 
	private_key TEXT NOT NULL, 
	public_jwk TEXT NOT NULL, 
	created_at VARCHAR(27) NOT NULL, 
	retire_at VARCHAR(27), 
	PRIMARY KEY (kid)
);

CREATE TABLE tenants (
	id VARCHAR(36) NOT NULL, 
	name VARCHAR(256) NOT NULL, 
	invitation_lifetime_days INTEGER DEFAULT '30' NOT NULL, 
	landing_url VARCHAR(2048), 
	privacy_url VARCHAR(2048), 
	logo_url VARCHAR(2048), 
	created_at VARCHAR(27) NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE webhook_endpoints (
	id VARCHAR(36) NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	url VARCHAR(2048) NOT NULL, 
	event_types TEXT NOT NULL, 
	secret TEXT NOT NULL, 
	previous_secret TEXT, 
	previous_until VARCHAR(27), 
	enabled BOOLEAN DEFAULT '1' NOT NULL, 
	disabled_reason VARCHAR(200), 
	cursor BIGINT DEFAULT '0' NOT NULL, 
	created_at VARCHAR(27) NOT NULL, 
	rotated_at VARCHAR(27), 
	PRIMARY KEY (id)
);

CREATE INDEX ix_webhook_endpoints_tenant ON webhook_endpoints (tenant_id);

CREATE TABLE apps (
	id VARCHAR(36) NOT NULL, 
	object_id VARCHAR(36) NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	name VARCHAR(120) NOT NULL, 
	permissions TEXT NOT NULL, 
	enabled BOOLEAN DEFAULT '1' NOT NULL, 
	created_at VARCHAR(27) NOT NULL, 
	redirect_uris TEXT DEFAULT '' NOT NULL, 
	public_client BOOLEAN DEFAULT '0' NOT NULL, 
	app_id_uri VARCHAR(400), 
	api_scopes TEXT DEFAULT '' NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (object_id), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX ix_apps_tenant ON apps (tenant_id);

CREATE UNIQUE INDEX uq_apps_tenant_app_id_uri ON apps (tenant_id, app_id_uri);

CREATE TABLE bulk_job_rows (
	job_id VARCHAR(36) NOT NULL, 
	position INTEGER NOT NULL, 
	file_row INTEGER NOT NULL, 
	input TEXT NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	invitation_id VARCHAR(36), 
	user_id VARCHAR(36), 
	redeem_url TEXT, 
	error_code VARCHAR(64), 
	error_message VARCHAR(500), 
	updated_at VARCHAR(27), 
	lease_until VARCHAR(27), 
	approval_id VARCHAR(36), 
	PRIMARY KEY (job_id, position), 
	FOREIGN KEY(job_id) REFERENCES bulk_jobs (id) ON DELETE CASCADE
);

CREATE INDEX ix_bulk_job_rows_status ON bulk_job_rows (job_id, status, position);

CREATE TABLE deleted_users (
	id VARCHAR(36) NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	email_key VARCHAR(320) NOT NULL, 
	upn_key TEXT NOT NULL, 
	deleted_at VARCHAR(27) NOT NULL, 
	record TEXT NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX ix_deleted_users_purge ON deleted_users (deleted_at);

CREATE INDEX ix_deleted_users_tenant ON deleted_users (tenant_id, deleted_at, id);

CREATE INDEX ix_deleted_users_upn ON deleted_users (tenant_id, upn_key);

CREATE TABLE graph_subscriptions (
	id VARCHAR(36) NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	app_id VARCHAR(36), 
	resource VARCHAR(64) NOT NULL, 
	change_types VARCHAR(64) NOT NULL, 
	notification_url VARCHAR(2048) NOT NULL, 
	lifecycle_url VARCHAR(2048), 
	client_state TEXT, 
	expires_at VARCHAR(27) NOT NULL, 
	cursor BIGINT NOT NULL, 
	next_attempt_at VARCHAR(27) NOT NULL, 
	failing_since VARCHAR(27), 
	created_at VARCHAR(27) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX ix_graph_subscriptions_tenant ON graph_subscriptions (tenant_id, app_id);

CREATE TABLE guest_state_counts (
	tenant_id VARCHAR(36) NOT NULL, 
	user_type VARCHAR(16) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	shard INTEGER NOT NULL, 
	n BIGINT NOT NULL, 
	PRIMARY KEY (tenant_id, user_type, state, shard), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE TABLE tenant_domains (
	domain VARCHAR(253) NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	position INTEGER NOT NULL, 
	PRIMARY KEY (domain), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX ix_tenant_domains_tenant ON tenant_domains (tenant_id, position);

CREATE TABLE tenant_logos (
	tenant_id VARCHAR(36) NOT NULL, 
	content_type VARCHAR(32) NOT NULL, 
	image TEXT NOT NULL, 
	etag VARCHAR(64) NOT NULL, 
	updated_at VARCHAR(27) NOT NULL, 
	PRIMARY KEY (tenant_id), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE TABLE users (
	id VARCHAR(36) NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	user_type VARCHAR(16) NOT NULL, 
	display_name VARCHAR(256) NOT NULL, 
	mail VARCHAR(320) NOT NULL, 
	email_key VARCHAR(320) NOT NULL, 
	user_principal_name VARCHAR(400) NOT NULL, 
	external_user_state VARCHAR(32), 
	external_user_state_changed_at VARCHAR(27), 
	creation_type VARCHAR(32), 
	created_at VARCHAR(27) NOT NULL, 
	display_name_key TEXT NOT NULL, 
	mail_key TEXT NOT NULL, 
	upn_key TEXT NOT NULL, 
	last_sign_in_at VARCHAR(27), 
	latest_invitation_id VARCHAR(36), 
	invitation_state VARCHAR(16) DEFAULT 'Pending' NOT NULL, 
	invitation_expires_at VARCHAR(27), 
	invitation_requester VARCHAR(320), 
	invited_at VARCHAR(27), 
	account_enabled BOOLEAN DEFAULT '1' NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_users_tenant_email UNIQUE (tenant_id, email_key), 
	CONSTRAINT uq_users_tenant_upn_key UNIQUE (tenant_id, upn_key), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX ix_users_guest_expiry ON users (tenant_id, user_type, invitation_state, invitation_expires_at, invited_at, created_at, id);

CREATE INDEX ix_users_guest_requester ON users (tenant_id, user_type, invitation_requester, created_at, id);

CREATE INDEX ix_users_guest_state ON users (tenant_id, user_type, invitation_state, created_at, id, invitation_expires_at);

CREATE INDEX ix_users_tenant_created ON users (tenant_id, created_at, id);

CREATE INDEX ix_users_tenant_type_created ON users (tenant_id, user_type, created_at, id);

CREATE INDEX ix_users_tenant_type_id ON users (tenant_id, user_type, id);

CREATE INDEX ix_users_tenant_type_sign_in ON users (tenant_id, user_type, last_sign_in_at);

CREATE TABLE webhook_deliveries (
	id VARCHAR(36) NOT NULL, 
	endpoint_id VARCHAR(36) NOT NULL, 
	event_id VARCHAR(36) NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	attempts INTEGER DEFAULT '0' NOT NULL, 
	next_attempt_at VARCHAR(27) NOT NULL, 
	locked_until VARCHAR(27), 
	last_error VARCHAR(200), 
	created_at VARCHAR(27) NOT NULL, 
	delivered_at VARCHAR(27), 
	PRIMARY KEY (id), 
	CONSTRAINT uq_webhook_deliveries_endpoint_event UNIQUE (endpoint_id, event_id), 
	FOREIGN KEY(endpoint_id) REFERENCES webhook_endpoints (id) ON DELETE CASCADE, 
	FOREIGN KEY(event_id) REFERENCES events (id) ON DELETE CASCADE
);

CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

CREATE TABLE authorization_codes (
	code_hash VARCHAR(64) NOT NULL, 
	app_id VARCHAR(36) NOT NULL, 
	user_id VARCHAR(36) NOT NULL, 
	sid VARCHAR(36) NOT NULL, 
	redirect_uri VARCHAR(1024) NOT NULL, 
	scope TEXT NOT NULL, 
	nonce VARCHAR(512), 
	code_challenge VARCHAR(64), 
	auth_time VARCHAR(27) NOT NULL, 
	expires_at VARCHAR(27) NOT NULL, 
	used_at VARCHAR(27), 
	family_id VARCHAR(36), 
	PRIMARY KEY (code_hash), 
	FOREIGN KEY(app_id) REFERENCES apps (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE client_secrets (
	id VARCHAR(36) NOT NULL, 
	app_id VARCHAR(36) NOT NULL, 
	secret_hash VARCHAR(64) NOT NULL, 
	hint VARCHAR(8) NOT NULL, 
	display_name VARCHAR(120) NOT NULL, 
	created_at VARCHAR(27) NOT NULL, 
	expires_at VARCHAR(27) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(app_id) REFERENCES apps (id) ON DELETE CASCADE, 
	UNIQUE (secret_hash)
);

CREATE INDEX ix_client_secrets_app ON client_secrets (app_id);

CREATE TABLE console_sessions (
	session_hash VARCHAR(64) NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	user_id VARCHAR(36) NOT NULL, 
	created_at VARCHAR(27) NOT NULL, 
	expires_at VARCHAR(27) NOT NULL, 
	ended_at VARCHAR(27), 
	signed_in_at VARCHAR(27), 
	PRIMARY KEY (session_hash), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_console_sessions_user ON console_sessions (user_id);

CREATE TABLE invitations (
	id VARCHAR(36) NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	user_id VARCHAR(36) NOT NULL, 
	email VARCHAR(320) NOT NULL, 
	ticket_hash VARCHAR(64) NOT NULL, 
	status VARCHAR(32) NOT NULL, 
	redirect_url VARCHAR(2048) NOT NULL, 
	send_message BOOLEAN NOT NULL, 
	requested_by VARCHAR(320), 
	more TEXT NOT NULL, 
	message_info TEXT, 
	created_by_app VARCHAR(36), 
	created_at VARCHAR(27) NOT NULL, 
	expires_at VARCHAR(27), 
	completed_at VARCHAR(27), 
	revoked_at VARCHAR(27), 
	expiry_reported VARCHAR(27), 
	accept_us BIGINT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE, 
	UNIQUE (ticket_hash)
);

CREATE INDEX ix_invitations_accepted ON invitations (tenant_id, status, accept_us, created_at);

CREATE INDEX ix_invitations_reports ON invitations (tenant_id, created_at, status, expires_at, completed_at, requested_by, email);

CREATE INDEX ix_invitations_status_expiry ON invitations (status, expires_at);

CREATE INDEX ix_invitations_tenant_created ON invitations (tenant_id, created_at, id);

CREATE INDEX ix_invitations_tenant_status_created ON invitations (tenant_id, status, created_at, id, expires_at, accept_us);

CREATE INDEX ix_invitations_user_status ON invitations (user_id, status);

CREATE TABLE refresh_tokens (
	token_hash VARCHAR(64) NOT NULL, 
	family_id VARCHAR(36) NOT NULL, 
	app_id VARCHAR(36) NOT NULL, 
	user_id VARCHAR(36) NOT NULL, 
	sid VARCHAR(36) NOT NULL, 
	scope TEXT NOT NULL, 
	auth_time VARCHAR(27) NOT NULL, 
	created_at VARCHAR(27) NOT NULL, 
	expires_at VARCHAR(27) NOT NULL, 
	used_at VARCHAR(27), 
	revoked_at VARCHAR(27), 
	PRIMARY KEY (token_hash), 
	FOREIGN KEY(app_id) REFERENCES apps (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_refresh_tokens_family ON refresh_tokens (family_id);

CREATE INDEX ix_refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE role_assignments (
	tenant_id VARCHAR(36) NOT NULL, 
	user_id VARCHAR(36) NOT NULL, 
	role VARCHAR(32) NOT NULL, 
	assigned_at VARCHAR(27) NOT NULL, 
	PRIMARY KEY (tenant_id, user_id, role), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_role_assignments_user ON role_assignments (user_id);

CREATE TABLE sign_in_activity (
	user_id VARCHAR(36) NOT NULL, 
	last_sign_in_at VARCHAR(27), 
	last_successful_sign_in_at VARCHAR(27), 
	PRIMARY KEY (user_id), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_sign_in_activity_last ON sign_in_activity (user_id, last_sign_in_at);

CREATE TABLE signin_challenges (
	challenge_hash VARCHAR(64) NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	user_id VARCHAR(36), 
	request TEXT NOT NULL, 
	code_hash VARCHAR(64), 
	code_expires_at VARCHAR(27), 
	code_attempts INTEGER DEFAULT '0' NOT NULL, 
	codes_sent INTEGER DEFAULT '0' NOT NULL, 
	last_code_at VARCHAR(27), 
	created_at VARCHAR(27) NOT NULL, 
	expires_at VARCHAR(27) NOT NULL, 
	PRIMARY KEY (challenge_hash), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_signin_challenges_user_created ON signin_challenges (user_id, created_at);

CREATE TABLE signin_sessions (
	session_hash VARCHAR(64) NOT NULL, 
	sid VARCHAR(36) NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	user_id VARCHAR(36) NOT NULL, 
	auth_time VARCHAR(27) NOT NULL, 
	expires_at VARCHAR(27) NOT NULL, 
	ended_at VARCHAR(27), 
	PRIMARY KEY (session_hash), 
	UNIQUE (sid), 
	FOREIGN KEY(tenant_id) REFERENCES tenants (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_signin_sessions_user ON signin_sessions (user_id);

CREATE TABLE user_sponsors (
	user_id VARCHAR(36) NOT NULL, 
	sponsor_id VARCHAR(36) NOT NULL, 
	tenant_id VARCHAR(36) NOT NULL, 
	position INTEGER NOT NULL, 
	PRIMARY KEY (user_id, sponsor_id), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE, 
	FOREIGN KEY(sponsor_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX ix_user_sponsors_sponsor ON user_sponsors (tenant_id, sponsor_id, user_id);

CREATE TABLE webhook_attempts (
	id BIGSERIAL NOT NULL, 
	delivery_id VARCHAR(36) NOT NULL, 
	endpoint_id VARCHAR(36) NOT NULL, 
	event_id VARCHAR(36) NOT NULL, 
	attempted_at VARCHAR(27) NOT NULL, 
	status_code INTEGER, 
	latency_ms INTEGER NOT NULL, 
	error VARCHAR(200), 
	response_excerpt VARCHAR(500), 
	PRIMARY KEY (id), 
	FOREIGN KEY(delivery_id) REFERENCES webhook_deliveries (id) ON DELETE CASCADE
);

CREATE INDEX ix_webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id);

CREATE TABLE redeem_sessions (
	session_hash VARCHAR(64) NOT NULL, 
	invitation_id VARCHAR(36) NOT NULL, 
	code_hash VARCHAR(64), 
	code_expires_at VARCHAR(27), 
	code_attempts INTEGER DEFAULT '0' NOT NULL, 
	codes_sent INTEGER DEFAULT '0' NOT NULL, 
	last_code_at VARCHAR(27), 
	verified_at VARCHAR(27), 
	created_at VARCHAR(27) NOT NULL, 
	expires_at VARCHAR(27) NOT NULL, 
	PRIMARY KEY (session_hash), 
	FOREIGN KEY(invitation_id) REFERENCES invitations (id) ON DELETE CASCADE
);

CREATE INDEX ix_redeem_sessions_invitation ON redeem_sessions (invitation_id);

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX ix_users_guest_domain ON users (tenant_id, user_type, (split_part(mail_key, '@', -1)), created_at, id);

CREATE INDEX ix_users_guest_name_trgm ON users USING gin (display_name_key gin_trgm_ops) WHERE user_type = 'Guest';

CREATE INDEX ix_users_guest_mail_trgm ON users USING gin (mail_key gin_trgm_ops) WHERE user_type = 'Guest';

CREATE FUNCTION guest_state_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s integer := pg_backend_pid() % 16;
BEGIN
    INSERT INTO guest_state_counts AS c
    SELECT * FROM (VALUES (OLD.tenant_id, OLD.user_type, OLD.invitation_state, s, -1),
        (NEW.tenant_id, NEW.user_type, NEW.invitation_state, s, 1)) AS v
    ORDER BY 1, 2, 3
    ON CONFLICT (tenant_id, user_type, state, shard) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION guest_state_count_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO guest_state_counts AS c
    SELECT tenant_id, user_type, invitation_state, pg_backend_pid() % 16, COUNT(*) FROM added
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (tenant_id, user_type, state, shard) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE FUNCTION guest_state_count_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO guest_state_counts AS c
    SELECT r.tenant_id, r.user_type, r.invitation_state, pg_backend_pid() % 16, -COUNT(*) FROM removed r
    WHERE EXISTS (SELECT 1 FROM tenants t WHERE t.id = r.tenant_id)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (tenant_id, user_type, state, shard) DO UPDATE SET n = c.n + excluded.n;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_state_count AFTER INSERT ON users REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION guest_state_count_added();

CREATE TRIGGER users_state_count_removed AFTER DELETE ON users REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION guest_state_count_removed();

CREATE TRIGGER users_state_count_update AFTER UPDATE OF tenant_id, user_type, invitation_state ON users FOR EACH ROW WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id OR OLD.user_type IS DISTINCT FROM NEW.user_type OR OLD.invitation_state IS DISTINCT FROM NEW.invitation_state) EXECUTE FUNCTION guest_state_count();

CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL,
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

INSERT INTO alembic_version (version_num) VALUES ('0032');
