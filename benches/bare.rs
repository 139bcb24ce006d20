//! Runs hand-written SQL statements against a database through the same SQLite
//! engine (and the same connection settings) handoff uses, and prints each
//! statement's time: the "bare SQL" side of `benches/bench.py`.
//!
//! ```sh
//! cargo bench --bench bare -- sqlite:///tmp/h.db statements.sql
//! ```
//!
//! Statements are separated by lines holding only `;`. Rows are read and
//! dropped; the time of a statement runs from sending it to its last row.

use std::str::FromStr;
use std::time::Instant;

use futures_util::TryStreamExt as _;
use sqlx::ConnectOptions as _;
use sqlx::sqlite::SqliteConnectOptions;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [url, file] = &args[..] else {
        eprintln!("usage: bare sqlite://FILE STATEMENTS.sql");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(file).expect("read the statements");
    let statements: Vec<String> = text
        .split("\n;\n")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        // The same tuning as handoff's defaults (StoreOptions).
        let defaults = handoff::store::StoreOptions::default();
        let mut conn = SqliteConnectOptions::from_str(url)
            .expect("a SQLite URL")
            .pragma(
                "cache_size",
                format!("-{}", u64::from(defaults.sqlite_cache_mib) * 1024),
            )
            .pragma(
                "mmap_size",
                (u64::from(defaults.sqlite_mmap_mib) * 1024 * 1024).to_string(),
            )
            .pragma("temp_store", "memory")
            .disable_statement_logging()
            .connect()
            .await
            .expect("connect");
        for sql in &statements {
            let started = Instant::now();
            let mut rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone())).fetch(&mut conn);
            let mut n = 0u64;
            while rows.try_next().await.expect("the statement runs").is_some() {
                n += 1;
            }
            drop(rows);
            println!("{:.6} s {n} rows", started.elapsed().as_secs_f64());
        }
    });
}
