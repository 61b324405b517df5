CREATE TABLE avatars (id serial PRIMARY KEY, user_id int NOT NULL UNIQUE, persona text, size int);
CREATE TABLE prefs (user_id int NOT NULL, key text NOT NULL, value text, PRIMARY KEY (user_id, key));
CREATE TABLE events (id serial PRIMARY KEY, user_id int NOT NULL, kind text);
