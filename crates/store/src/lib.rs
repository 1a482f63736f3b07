//! SQL projection store on sqlx (SQLite and PostgreSQL): connection, migrations, checkpoints
