CREATE TABLE user_preferences (
    user_id     bigint NOT NULL REFERENCES users (id),
    key         text NOT NULL,
    value       text,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_preferences_pkey PRIMARY KEY (user_id, key)
);
