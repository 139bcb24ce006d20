//! The integration tests: one binary, one module per capability.
//!
//! Store, import and demo tests run against every backend through the same code
//! (see `backend_tests!` in `helpers`): SQLite always, PostgreSQL with the
//! `postgres-tests` feature and MySQL/MariaDB with `mysql-tests`. A real
//! PostgreSQL streaming replica (`.ci/replica-setup`) with `replica-tests`.

mod helpers;

mod backtest;
mod changelog;
mod channels;
mod cli;
mod codes;
mod daemon;
mod demo;
mod engine;
mod eval;
mod faults;
mod grafana;
mod import;
mod leads;
mod lease;
mod mail;
mod mapping;
mod reads;
mod replica;
mod repo;
mod review;
mod rules;
mod server;
mod slipped;
mod store;
mod upgrade;
