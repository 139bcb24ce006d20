//! Runs hand-written SQL statements against a database through the same SQLite
//! engine handoff uses, and prints each statement's time: the "bare SQL" side
//! of `benches/bench.py`.
//!
//! ```sh
//! cargo bench --bench bare -- sqlite:///tmp/h.db statements.sql [--cache-mib N] [--mmap-mib N]
//! ```
//!
//! The connection has handoff's defaults (`StoreOptions`) unless `--cache-mib`
//! (SQLite's page cache) or `--mmap-mib` (how much of the file is mapped) say
//! otherwise. The first line printed tells what SQLite took, read back with
//! `PRAGMA cache_size` and `PRAGMA mmap_size`: SQLite caps the map at its
//! compile-time `SQLITE_MAX_MMAP_SIZE`.
//!
//! Statements are separated by lines holding only `;`. Rows are read and
//! dropped; the time of a statement runs from sending it to its last row.

use std::str::FromStr;
use std::time::Instant;

use futures_util::TryStreamExt as _;
use sqlx::ConnectOptions as _;
use sqlx::sqlite::SqliteConnectOptions;

const USAGE: &str = "usage: bare sqlite://FILE STATEMENTS.sql [--cache-mib N] [--mmap-mib N]";

fn main() {
    let defaults = handoff::store::StoreOptions::default();
    let mut cache_mib = u64::from(defaults.sqlite_cache_mib);
    let mut mmap_mib = u64::from(defaults.sqlite_mmap_mib);
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(arg) = args.next() {
        let value = |args: &mut dyn Iterator<Item = String>| -> u64 {
            args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
                eprintln!("{arg} needs a number of MiB\n{USAGE}");
                std::process::exit(2);
            })
        };
        match arg.as_str() {
            "--cache-mib" => cache_mib = value(&mut args),
            "--mmap-mib" => mmap_mib = value(&mut args),
            _ => positional.push(arg),
        }
    }
    let [url, file] = &positional[..] else {
        eprintln!("{USAGE}");
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
        let mut conn = SqliteConnectOptions::from_str(url)
            .expect("a SQLite URL")
            .pragma("cache_size", format!("-{}", cache_mib * 1024))
            .pragma("mmap_size", (mmap_mib * 1024 * 1024).to_string())
            .pragma("temp_store", "memory")
            .disable_statement_logging()
            .connect()
            .await
            .expect("connect");
        let cache: i64 = sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(&mut conn)
            .await
            .expect("PRAGMA cache_size");
        let mmap: i64 = sqlx::query_scalar("PRAGMA mmap_size")
            .fetch_one(&mut conn)
            .await
            .expect("PRAGMA mmap_size");
        println!("# cache_size {cache} mmap_size {mmap}");
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
