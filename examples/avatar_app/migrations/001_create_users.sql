-- Users and their login names.
CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    email       text NOT NULL,
    display_name text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Emails are unique regardless of case.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
