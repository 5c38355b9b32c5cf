//! One SQL interface over the index's two engines: SQLite (embedded, the default) and
//! PostgreSQL (shared by several machines).
//!
//! The store's queries are written once, in the SQL both engines accept, with `?N`
//! placeholders (turned into `$N` for PostgreSQL); the few places where the engines
//! differ (schema, full-text search, maintenance) ask [`Sql::engine`]. Values cross as
//! [`Value`]s: PostgreSQL's parameter types come from the statement, and a value is
//! encoded as the type the server inferred (an integer sent to an `INTEGER` or a
//! `BIGINT` column alike), so no statement needs engine-specific casts.
//!
//! Written here rather than taken from sqlx's `Any` driver: the store is synchronous
//! (called from worker threads and `spawn_blocking`), and this is all the surface it needs.

use std::collections::HashMap;
use std::error::Error;

use postgres::types::{IsNull, Type};
use rusqlite::types::{ToSqlOutput, ValueRef};

use super::StoreError;

/// Which engine runs the statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// SQLite, in one file next to the blobs.
    Sqlite,
    /// PostgreSQL, over the network.
    Postgres,
}

/// A value passed to or read from a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An integer (also booleans: 0 or 1).
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
}

/// A statement's parameter.
pub trait ToValue {
    /// This parameter as a [`Value`].
    fn to_value(&self) -> Value;
}

/// A column read from a row.
pub trait FromValue: Sized {
    /// The column's value as `Self`, or why it is not one.
    fn from_value(value: &Value) -> Result<Self, String>;
}

/// A result row.
#[derive(Debug, Clone)]
pub struct Row(Vec<Value>);

impl Row {
    /// Column `index` as `T`.
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T, StoreError> {
        let value = self.0.get(index).unwrap_or(&Value::Null);
        T::from_value(value).map_err(|e| StoreError::Storage(format!("index: column {index}: {e}")))
    }
}

impl Row {
    /// Every column, in order.
    pub fn values(&self) -> &[Value] {
        &self.0
    }

    /// Column `index` as borrowed text (no copy per row).
    pub fn text(&self, index: usize) -> Result<&str, StoreError> {
        match self.0.get(index) {
            Some(Value::Text(s)) => Ok(s),
            other => Err(StoreError::Storage(format!(
                "index: column {index}: expected text, found {other:?}"
            ))),
        }
    }
}

/// Parameters for a statement: `args![a, b]`.
macro_rules! args {
    ($($value:expr),* $(,)?) => {
        &[$(&$value as &dyn $crate::store::sql::ToValue),*][..]
    };
}
pub(crate) use args;

/// A connection (or a transaction on one) that runs the store's statements.
pub trait Sql {
    /// The engine behind this connection.
    fn engine(&self) -> Engine;
    /// Runs one statement; returns the number of rows changed.
    fn execute(&mut self, sql: &str, args: &[&dyn ToValue]) -> Result<u64, StoreError>;
    /// Runs one query and hands its rows to `f` one at a time, as they come (a large
    /// result is never held whole).
    fn each(
        &mut self,
        sql: &str,
        args: &[&dyn ToValue],
        f: &mut dyn FnMut(&Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Runs several statements without parameters.
    fn batch(&mut self, sql: &str) -> Result<(), StoreError>;
}

impl dyn Sql + '_ {
    /// All rows of a query.
    pub fn query(&mut self, sql: &str, args: &[&dyn ToValue]) -> Result<Vec<Row>, StoreError> {
        self.query_map(sql, args, |row| Ok(row.clone()))
    }

    /// The first row of a query, or `None` (later rows are read but not kept).
    pub fn query_opt<T>(
        &mut self,
        sql: &str,
        args: &[&dyn ToValue],
        f: impl FnOnce(&Row) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let (mut f, mut first) = (Some(f), None);
        self.each(sql, args, &mut |row| {
            if let Some(f) = f.take() {
                first = Some(f(row)?);
            }
            Ok(())
        })?;
        Ok(first)
    }

    /// The first row of a query, which must return one.
    pub fn query_row<T>(
        &mut self,
        sql: &str,
        args: &[&dyn ToValue],
        f: impl FnOnce(&Row) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.query_opt(sql, args, f)?
            .ok_or_else(|| StoreError::Storage(format!("index: no row from {}", first_line(sql))))
    }

    /// Every row of a query, each mapped by `f` as it comes.
    pub fn query_map<T>(
        &mut self,
        sql: &str,
        args: &[&dyn ToValue],
        mut f: impl FnMut(&Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        self.each(sql, args, &mut |row| {
            out.push(f(row)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first column of the first row, which must exist.
    pub fn one<T: FromValue>(&mut self, sql: &str, args: &[&dyn ToValue]) -> Result<T, StoreError> {
        self.query_row(sql, args, |r| r.get(0))
    }
}

fn first_line(sql: &str) -> &str {
    sql.trim().lines().next().unwrap_or("")
}

// ---- SQLite -------------------------------------------------------------------------

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Bytes(b) => ValueRef::Blob(b),
        }))
    }
}

fn sqlite_value(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

fn sqlite_args(args: &[&dyn ToValue]) -> Vec<Value> {
    args.iter().map(|a| a.to_value()).collect()
}

impl Sql for rusqlite::Connection {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn execute(&mut self, sql: &str, args: &[&dyn ToValue]) -> Result<u64, StoreError> {
        let values = sqlite_args(args);
        let mut stmt = self.prepare_cached(sql)?;
        Ok(stmt.execute(rusqlite::params_from_iter(values.iter()))? as u64)
    }

    fn each(
        &mut self,
        sql: &str,
        args: &[&dyn ToValue],
        f: &mut dyn FnMut(&Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let values = sqlite_args(args);
        let mut stmt = self.prepare_cached(sql)?;
        let columns = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(values.iter()))?;
        let mut row = Row(Vec::with_capacity(columns));
        while let Some(next) = rows.next()? {
            row.0.clear();
            for i in 0..columns {
                row.0.push(sqlite_value(next.get_ref(i)?));
            }
            f(&row)?;
        }
        Ok(())
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.execute_batch(sql)?)
    }
}

// ---- PostgreSQL ---------------------------------------------------------------------

/// A PostgreSQL connection with its prepared statements.
pub struct PgConn {
    client: postgres::Client,
    prepared: HashMap<String, postgres::Statement>,
}

impl PgConn {
    /// Connects to `url` (`postgres://user@host:port/db`).
    pub fn connect(url: &str) -> Result<PgConn, StoreError> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Invalid(format!("invalid PostgreSQL URL: {e}")))?;
        let mut config = config;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(5));
        }
        let client = config
            .connect(postgres::NoTls)
            .map_err(|e| StoreError::Unavailable(format!("PostgreSQL {}: {e}", redact(url))))?;
        Ok(PgConn {
            client,
            prepared: HashMap::new(),
        })
    }

    /// Whether the connection is gone (the server restarted or the network failed).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, StoreError> {
        if let Some(stmt) = self.prepared.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self.client.prepare(&dollar_placeholders(sql))?;
        self.prepared.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }
}

/// `url` without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = &url[scheme + 3..at];
            let user = user.split(':').next().unwrap_or("");
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// `?N` and `?` placeholders (SQLite's) as `$N` (PostgreSQL's), outside quoted text.
pub fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let (mut quoted, mut highest) = (false, 0u32);
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c != '?' || quoted {
            out.push(c);
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        let n = digits.parse().unwrap_or(highest + 1);
        highest = highest.max(n);
        out.push_str(&format!("${n}"));
    }
    out
}

impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match (self, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Int(i), &Type::INT2) => i16::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::INT4) => i32::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::BOOL) => (*i != 0).to_sql(ty, out),
            (Value::Int(i), &Type::FLOAT8) => (*i as f64).to_sql(ty, out),
            (Value::Int(i), &Type::TEXT | &Type::VARCHAR) => i.to_string().to_sql(ty, out),
            (Value::Int(i), _) => i.to_sql(ty, out),
            (Value::Real(f), &Type::FLOAT4) => (*f as f32).to_sql(ty, out),
            (Value::Real(f), _) => f.to_sql(ty, out),
            (Value::Text(s), _) => s.as_str().to_sql(ty, out),
            (Value::Bytes(b), _) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

impl<'a> postgres::types::FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Value, Box<dyn Error + Sync + Send>> {
        Ok(match *ty {
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::BOOL => Value::Int(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::BYTEA => Value::Bytes(Vec::<u8>::from_sql(ty, raw)?),
            _ => Value::Text(String::from_sql(ty, raw)?),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Value, Box<dyn Error + Sync + Send>> {
        Ok(Value::Null)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INT2
            || *ty == Type::INT4
            || *ty == Type::INT8
            || *ty == Type::BOOL
            || *ty == Type::FLOAT4
            || *ty == Type::FLOAT8
            || *ty == Type::BYTEA
            || <String as postgres::types::FromSql>::accepts(ty)
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> StoreError {
        if e.is_closed() || e.code().is_none() && e.as_db_error().is_none() {
            return StoreError::Unavailable(format!("PostgreSQL: {e}"));
        }
        let message = match e.as_db_error() {
            Some(db) => db.message().to_string(),
            None => e.to_string(),
        };
        StoreError::Postgres { message, source: e }
    }
}

impl Sql for PgConn {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    fn execute(&mut self, sql: &str, args: &[&dyn ToValue]) -> Result<u64, StoreError> {
        let stmt = self.statement(sql)?;
        let values = sqlite_args(args);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            values.iter().map(|v| v as _).collect();
        Ok(self.client.execute(&stmt, &refs)?)
    }

    fn each(
        &mut self,
        sql: &str,
        args: &[&dyn ToValue],
        f: &mut dyn FnMut(&Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        use postgres::fallible_iterator::FallibleIterator;
        let stmt = self.statement(sql)?;
        let values = sqlite_args(args);
        let mut rows = self.client.query_raw(&stmt, values.iter())?;
        let mut row = Row(Vec::new());
        while let Some(next) = rows.next()? {
            row.0.clear();
            for i in 0..next.len() {
                row.0.push(next.try_get::<_, Value>(i)?);
            }
            f(&row)?;
        }
        Ok(())
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.client.batch_execute(sql)?)
    }
}

// ---- conversions --------------------------------------------------------------------

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}

/// The domain's checked values are stored as their text.
macro_rules! text_values {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Text(self.as_str().to_string())
            }
        }
    )*};
}
text_values!(
    crate::values::CitizenId,
    crate::values::Date,
    crate::values::DocumentId,
    crate::values::Title
);

impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Bytes(self.to_vec())
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Bytes(self.clone())
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}

impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

macro_rules! integer_values {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                // Sizes, counts and numbers in the store are far below i64::MAX.
                Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
        impl FromValue for $t {
            fn from_value(value: &Value) -> Result<$t, String> {
                match value {
                    Value::Int(i) => <$t>::try_from(*i).map_err(|e| e.to_string()),
                    other => Err(format!("expected an integer, found {other:?}")),
                }
            }
        }
    )*};
}
integer_values!(i32, i64, u8, u16, u32, u64, usize);

impl FromValue for String {
    fn from_value(value: &Value) -> Result<String, String> {
        match value {
            Value::Text(s) => Ok(s.clone()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(value: &Value) -> Result<Vec<u8>, String> {
        match value {
            Value::Bytes(b) => Ok(b.clone()),
            Value::Text(s) => Ok(s.as_bytes().to_vec()),
            other => Err(format!("expected bytes, found {other:?}")),
        }
    }
}

impl FromValue for bool {
    fn from_value(value: &Value) -> Result<bool, String> {
        match value {
            Value::Int(i) => Ok(*i != 0),
            other => Err(format!("expected a boolean, found {other:?}")),
        }
    }
}

impl FromValue for f64 {
    fn from_value(value: &Value) -> Result<f64, String> {
        match value {
            Value::Real(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: &Value) -> Result<Option<T>, String> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

impl FromValue for Value {
    fn from_value(value: &Value) -> Result<Value, String> {
        Ok(value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        assert_eq!(
            dollar_placeholders("SELECT ?1, ?2 WHERE a = ? AND b = '?' AND c = ?10"),
            "SELECT $1, $2 WHERE a = $3 AND b = '?' AND c = $10"
        );
        assert_eq!(dollar_placeholders("x = ? AND y = ?"), "x = $1 AND y = $2");
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("postgres://sohoa:s3cret@db:5432/sohoa"),
            "postgres://sohoa@db:5432/sohoa"
        );
        assert_eq!(redact("postgres://db/sohoa"), "postgres://db/sohoa");
    }

    #[test]
    fn sqlite_round_trips_values() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        let sql: &mut dyn Sql = &mut conn;
        sql.batch("CREATE TABLE t (a INTEGER, b TEXT, c BLOB)")
            .unwrap();
        let none: Option<&str> = None;
        sql.execute(
            "INSERT INTO t VALUES (?1, ?2, ?3)",
            args![7u32, none, vec![1u8, 2]],
        )
        .unwrap();
        let (a, b, c): (u32, Option<String>, Vec<u8>) = sql
            .query_row("SELECT a, b, c FROM t", args![], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!((a, b, c), (7, None, vec![1, 2]));
    }
}
