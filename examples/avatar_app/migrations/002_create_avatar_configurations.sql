-- One avatar configuration per user (intended; see the incident).
CREATE TABLE avatar_configurations (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id),
    persona     text NOT NULL,
    settings    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A plain index for lookups. Not unique: ON CONFLICT (user_id) cannot use it.
CREATE INDEX avatar_configurations_user_id_idx ON avatar_configurations (user_id);
