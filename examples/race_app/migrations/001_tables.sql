CREATE TABLE notification_settings (
    user_id  bigint NOT NULL,
    channel  text NOT NULL,
    setting  text NOT NULL,
    PRIMARY KEY (user_id, channel)
);

CREATE TABLE page_counters (
    id    bigserial PRIMARY KEY,
    page  text NOT NULL UNIQUE,
    hits  bigint NOT NULL
);

CREATE TABLE profiles (
    id        bigserial PRIMARY KEY,
    email     text NOT NULL UNIQUE,
    nickname  text NOT NULL
);

CREATE TABLE favourite_colours (
    user_id  bigint PRIMARY KEY,
    colour   text NOT NULL
);
