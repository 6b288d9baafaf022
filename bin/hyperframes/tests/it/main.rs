//! `hyperframes` integration tests, one module per topic.

mod variables;
