//! One connection to the state database, whichever backend holds it: the
//! embedded SQLite file or a shared PostgreSQL server. The rest of `state`
//! writes its SQL once, in the dialect both understand (`?1` placeholders,
//! `ON CONFLICT`, `CASE`, no backend functions), and runs it here; this
//! file turns the placeholders into PostgreSQL's `$1`, binds parameters to
//! whatever type the server inferred, and reads rows back through one
//! [`Row`] type.
//!
//! It owns connection-level mechanics only (statement caches, transactions,
//! telling constraint violations apart); it knows no table, and nothing
//! outside `state` sees it.

use crate::config::{PostgresState, PostgresTls, ServerCheck};
use anyhow::{Context, Result, anyhow};
use postgres::config::SslMode;
use postgres::types::{IsNull, ToSql as PgToSql, Type, to_sql_checked};
use rusqlite::types::{ToSqlOutput, ValueRef};
use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

/// Which server holds the state; for the few statements the two spell
/// differently (row locks, returning rows from an `UPDATE … LIMIT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Backend {
    Sqlite,
    Postgres,
}

/// An open connection.
pub(super) enum Db {
    Sqlite(rusqlite::Connection),
    Postgres(Box<RefCell<Pg>>),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Db::Sqlite(_) => "Db::Sqlite",
            Db::Postgres(_) => "Db::Postgres",
        })
    }
}

/// A PostgreSQL connection and its prepared statements, by their SQL text
/// as written here (the `$n` translation is made once, when prepared).
pub(super) struct Pg {
    client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
}

impl Pg {
    pub(super) fn new(client: postgres::Client) -> Pg {
        Pg {
            client,
            statements: HashMap::new(),
        }
    }

    fn statement(&mut self, sql: &str) -> Result<postgres::Statement> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(&dollar_placeholders(sql))?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

/// `?1` → `$1`. Our statements hold no `?` inside string literals.
fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// A statement parameter.
#[derive(Debug, Clone, Copy)]
pub(super) enum Value<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Bytes(&'a [u8]),
    /// A `text[]` (PostgreSQL only: batches through `unnest`).
    Texts(&'a [&'a str]),
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(text: &'a str) -> Value<'a> {
        Value::Text(text)
    }
}
impl<'a> From<&'a String> for Value<'a> {
    fn from(text: &'a String) -> Value<'a> {
        Value::Text(text)
    }
}
impl<'a> From<&'a &str> for Value<'a> {
    fn from(text: &'a &str) -> Value<'a> {
        Value::Text(text)
    }
}
impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(text: Option<&'a str>) -> Value<'a> {
        text.map_or(Value::Null, Value::Text)
    }
}
impl<'a> From<&'a Option<String>> for Value<'a> {
    fn from(text: &'a Option<String>) -> Value<'a> {
        text.as_deref().map_or(Value::Null, Value::Text)
    }
}
impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(bytes: &'a [u8]) -> Value<'a> {
        Value::Bytes(bytes)
    }
}
impl From<i64> for Value<'_> {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}
impl From<u32> for Value<'_> {
    fn from(n: u32) -> Self {
        Value::Int(n.into())
    }
}
impl From<bool> for Value<'_> {
    fn from(b: bool) -> Self {
        Value::Int(b.into())
    }
}
impl From<super::Status> for Value<'_> {
    fn from(status: super::Status) -> Self {
        Value::Text(status.as_str())
    }
}

/// Parameters for a statement: `args![a, b]` is `&[Value::from(a), …]`.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$($crate::state::db::Value::from($value)),*][..]
    };
}
pub(super) use args;

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match *self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(n) => ToSqlOutput::Borrowed(ValueRef::Integer(n)),
            Value::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Value::Bytes(bytes) => ToSqlOutput::Borrowed(ValueRef::Blob(bytes)),
            Value::Texts(_) => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    "SQLite has no array parameters".into(),
                ));
            }
        })
    }
}

impl PgToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        // The server infers each parameter's type from where it stands;
        // integers go in the width it asked for.
        match *self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(n) if *ty == Type::INT4 => i32::try_from(n)?.to_sql(ty, out),
            Value::Int(n) if *ty == Type::BOOL => (n != 0).to_sql(ty, out),
            Value::Int(n) => n.to_sql(ty, out),
            Value::Text(text) => text.to_sql(ty, out),
            Value::Bytes(bytes) => bytes.to_sql(ty, out),
            Value::Texts(texts) => texts.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// One row of a result.
pub(super) enum Row<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r postgres::Row),
}

impl<'r> Row<'r> {
    /// A text column.
    pub(super) fn text(&self, index: usize) -> Result<String> {
        self.str(index).map(str::to_owned)
    }

    /// A text column, borrowed from the row.
    pub(super) fn str(&self, index: usize) -> Result<&'r str> {
        match self {
            Row::Sqlite(row) => Ok(row.get_ref(index)?.as_str()?),
            Row::Postgres(row) => Ok(row.try_get(index)?),
        }
    }

    /// A text column that may be NULL.
    pub(super) fn opt_text(&self, index: usize) -> Result<Option<String>> {
        match self {
            Row::Sqlite(row) => Ok(row.get(index)?),
            Row::Postgres(row) => Ok(row.try_get(index)?),
        }
    }

    /// An integer column (PostgreSQL's `bigint`, `integer` or `boolean`).
    pub(super) fn int(&self, index: usize) -> Result<i64> {
        self.opt_int(index)?
            .ok_or_else(|| anyhow!("column {index} is NULL where a number belongs"))
    }

    /// An integer column that may be NULL.
    pub(super) fn opt_int(&self, index: usize) -> Result<Option<i64>> {
        match self {
            Row::Sqlite(row) => Ok(row.get(index)?),
            Row::Postgres(row) => {
                let ty = row.columns().get(index).map(|c| c.type_().clone());
                Ok(match ty {
                    Some(Type::INT4) => row.try_get::<_, Option<i32>>(index)?.map(i64::from),
                    Some(Type::BOOL) => row.try_get::<_, Option<bool>>(index)?.map(i64::from),
                    _ => row.try_get(index)?,
                })
            }
        }
    }

    /// A 0/1 column (or a comparison's result).
    pub(super) fn flag(&self, index: usize) -> Result<bool> {
        Ok(self.int(index)? != 0)
    }

    /// A small non-negative count.
    pub(super) fn count(&self, index: usize) -> Result<u32> {
        let n = self.int(index)?;
        u32::try_from(n).map_err(|_| anyhow!("column {index} holds {n}, not a count"))
    }

    /// A binary column.
    pub(super) fn bytes(&self, index: usize) -> Result<Vec<u8>> {
        match self {
            Row::Sqlite(row) => Ok(row.get(index)?),
            Row::Postgres(row) => Ok(row.try_get(index)?),
        }
    }

    /// A delivery status column.
    pub(super) fn status(&self, index: usize) -> Result<super::Status> {
        self.str(index)?.parse()
    }
}

impl Db {
    pub(super) fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs one statement; returns how many rows it changed.
    pub(super) fn execute(&self, sql: &str, params: &[Value<'_>]) -> Result<u64> {
        match self {
            Db::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                Ok(statement.execute(rusqlite::params_from_iter(params))? as u64)
            }
            Db::Postgres(pg) => {
                let mut pg = pg.borrow_mut();
                let statement = pg.statement(sql)?;
                Ok(pg.client.execute(&statement, &pg_params(params))?)
            }
        }
    }

    /// Runs a query and calls `each` for every row, in order, without
    /// holding the whole result (PostgreSQL streams it).
    pub(super) fn each(
        &self,
        sql: &str,
        params: &[Value<'_>],
        mut each: impl FnMut(&Row<'_>) -> Result<()>,
    ) -> Result<()> {
        match self {
            Db::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                let mut rows = statement.query(rusqlite::params_from_iter(params))?;
                while let Some(row) = rows.next()? {
                    each(&Row::Sqlite(row))?;
                }
                Ok(())
            }
            Db::Postgres(pg) => {
                let mut pg = pg.borrow_mut();
                let statement = pg.statement(sql)?;
                let mut rows = pg.client.query_raw(&statement, pg_params(params))?;
                while let Some(row) =
                    postgres::fallible_iterator::FallibleIterator::next(&mut rows)?
                {
                    each(&Row::Postgres(&row))?;
                }
                Ok(())
            }
        }
    }

    /// Every row of a query, each read by `read`.
    pub(super) fn query<T>(
        &self,
        sql: &str,
        params: &[Value<'_>],
        mut read: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.each(sql, params, |row| {
            out.push(read(row)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row of a query, if any.
    pub(super) fn query_opt<T>(
        &self,
        sql: &str,
        params: &[Value<'_>],
        read: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut read = Some(read);
        let mut out = None;
        self.each(sql, params, |row| {
            if let Some(read) = read.take() {
                out = Some(read(row)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// The one row a query always returns (an aggregate).
    pub(super) fn query_one<T>(
        &self,
        sql: &str,
        params: &[Value<'_>],
        read: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, params, read)?
            .ok_or_else(|| anyhow!("the query returned no row"))
    }

    /// Runs several statements without parameters (schema, pragmas).
    pub(super) fn batch(&self, sql: &str) -> Result<()> {
        match self {
            Db::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            Db::Postgres(pg) => Ok(pg.borrow_mut().client.batch_execute(sql)?),
        }
    }

    /// Begins a transaction in which this connection is the only writer of
    /// the database until it ends (SQLite's `BEGIN IMMEDIATE`; on
    /// PostgreSQL a transaction-scoped advisory lock that every such
    /// transaction takes first), so a read-then-write never races another
    /// process. Rolled back when dropped uncommitted.
    pub(super) fn begin_exclusive(&self) -> Result<Tx<'_>> {
        match self {
            Db::Sqlite(_) => self.batch("BEGIN IMMEDIATE")?,
            Db::Postgres(_) => {
                self.batch("BEGIN")?;
                let tx = Tx {
                    db: self,
                    open: true,
                };
                self.execute("SELECT pg_advisory_xact_lock(?1)", args![WRITE_LOCK_KEY])?;
                return Ok(tx);
            }
        }
        Ok(Tx {
            db: self,
            open: true,
        })
    }

    /// Begins a transaction of changes that each lock only the rows they
    /// change (the delivery ledger's claims and outcomes): on PostgreSQL
    /// several send workers commit these side by side; on SQLite it is
    /// [`Db::begin_exclusive`], the only kind there is.
    pub(super) fn begin_rows(&self) -> Result<Tx<'_>> {
        match self {
            Db::Sqlite(_) => self.begin_exclusive(),
            Db::Postgres(_) => {
                self.batch("BEGIN")?;
                Ok(Tx {
                    db: self,
                    open: true,
                })
            }
        }
    }
}

/// The advisory lock key of [`Db::begin_exclusive`] ("gzwr").
const WRITE_LOCK_KEY: i64 = 0x677a_7772;

fn pg_params<'p>(params: &'p [Value<'_>]) -> Vec<&'p (dyn PgToSql + Sync)> {
    params.iter().map(|p| p as &(dyn PgToSql + Sync)).collect()
}

/// An open transaction on a [`Db`]; rolled back when dropped uncommitted.
pub(super) struct Tx<'d> {
    db: &'d Db,
    open: bool,
}

impl Tx<'_> {
    pub(super) fn commit(mut self) -> Result<()> {
        self.open = false;
        self.db.batch("COMMIT")
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.db.batch("ROLLBACK");
        }
    }
}

/// Whether `error` is a constraint violation (unique key, check, foreign key).
pub(super) fn is_constraint(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        if let Some(e) = cause.downcast_ref::<rusqlite::Error>() {
            return e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation);
        }
        if let Some(e) = cause.downcast_ref::<postgres::Error>() {
            return e.code().is_some_and(|code| code.code().starts_with("23"));
        }
        false
    })
}

/// Connects to the PostgreSQL server of `postgres` (password from the
/// environment variable its `password_env` names, when set), over TLS as
/// its `tls` says.
pub(super) fn connect_postgres(postgres: &PostgresState, label: &str) -> Result<postgres::Client> {
    let PostgresState {
        url,
        password_env,
        tls,
    } = postgres;
    let mut config: postgres::Config = url
        .parse()
        .with_context(|| format!("`state.url` is not a PostgreSQL URL ({label})"))?;
    if let Some(variable) = password_env {
        let password = std::env::var(variable).map_err(|_| {
            anyhow!(
                "`state.password_env` names {variable}, which is not set; \
                 export it with the database password"
            )
        })?;
        config.password(password);
    }
    config.application_name("gazette");
    // A peer that vanishes (power lost, network cut) answers nothing, not
    // even a reset; without these, each side would keep the session for
    // the kernel's two hours, and a dead worker's advisory lock (and so
    // its rows) with it. The URL's own choices stand.
    if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
        config.keepalives_idle(KEEPALIVE_IDLE);
        config.keepalives_interval(KEEPALIVE_INTERVAL);
        config.keepalives_retries(KEEPALIVE_PROBES);
    }
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(PEER_GONE_AFTER);
    }
    let connected = match tls {
        PostgresTls::Disable => {
            config.ssl_mode(SslMode::Disable);
            config.connect(postgres::NoTls)
        }
        PostgresTls::Prefer => {
            config.ssl_mode(SslMode::Prefer);
            config.connect(super::postgres_tls::connector(&ServerCheck::Nothing)?)
        }
        PostgresTls::Require(check) => {
            config.ssl_mode(SslMode::Require);
            config.connect(super::postgres_tls::connector(check)?)
        }
    };
    let mut client = connected.map_err(|e| {
        let hint = super::postgres_tls::failure_hint(&e, tls);
        anyhow::Error::new(e).context(format!(
            "cannot connect to the state database {label}{hint}"
        ))
    })?;
    // The server's side of the same: it ends the session of a vanished
    // client (releasing its locks) within about half a minute, whether it
    // was waiting for the client or had sent it something unanswered.
    // Probes are answered by a live host's kernel, so a busy or idle
    // worker is never taken for a dead one.
    client
        .batch_execute(&format!(
            "SET tcp_keepalives_idle = {}; SET tcp_keepalives_interval = {}; \
             SET tcp_keepalives_count = {KEEPALIVE_PROBES}; SET tcp_user_timeout = {}",
            KEEPALIVE_IDLE.as_secs(),
            KEEPALIVE_INTERVAL.as_secs(),
            PEER_GONE_AFTER.as_millis(),
        ))
        .with_context(|| format!("cannot set the session's keepalives on {label}"))?;
    Ok(client)
}

/// Silence before a connection's peer is probed.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(15);
/// Between two unanswered probes.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
/// Unanswered probes after which the peer is taken for gone.
const KEEPALIVE_PROBES: u32 = 3;
/// How long a vanished peer's session outlives it, at most; also how long
/// data sent to it may go unacknowledged.
const PEER_GONE_AFTER: Duration = Duration::from_secs(
    KEEPALIVE_IDLE.as_secs() + KEEPALIVE_INTERVAL.as_secs() * KEEPALIVE_PROBES as u64,
);

#[cfg(test)]
mod tests {
    use super::dollar_placeholders;

    #[test]
    fn numbered_placeholders_become_dollars() {
        assert_eq!(
            dollar_placeholders("UPDATE t SET a = ?2 WHERE b = ?1 AND c = '?'"),
            "UPDATE t SET a = $2 WHERE b = $1 AND c = '?'"
        );
    }
}
