-- At most one live token per user; revoked tokens are kept for the audit trail.
CREATE TABLE api_tokens (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id),
    token_hash  text NOT NULL,
    revoked_at  timestamptz
);

CREATE UNIQUE INDEX api_tokens_one_live_per_user
    ON api_tokens (user_id)
    WHERE revoked_at IS NULL;
