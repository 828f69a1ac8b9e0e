//! The command-line arguments that name a QED cluster and its secret, shared by `qed client`
//! and `qed workload`.

use std::time::Duration;

use clap::Args;

use crate::client::{Client, ClientError, ClientOptions};

/// Where the cluster is and the secret its writes need.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The node's HTTP API (repeat or separate with commas to name several nodes of a cluster).
    #[arg(
        long,
        env = "QED_ENDPOINT",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:8800"
    )]
    pub endpoint: Vec<String>,
    /// The shared secret (`qed start -k`), sent as `Api-Key` on writes.
    #[arg(
        short = 'k',
        long = "apikey",
        visible_alias = "api-key",
        env = "QED_APIKEY",
        hide_env_values = true
    )]
    pub api_key: Option<String>,
}

impl ServerArgs {
    /// A client for these endpoints that waits at most `timeout_secs` (at least 1) per answer.
    pub fn client(&self, timeout_secs: u64) -> Result<Client, ClientError> {
        let opts = ClientOptions {
            api_key: self.api_key.clone(),
            timeout: Duration::from_secs(timeout_secs.max(1)),
            ..ClientOptions::default()
        };
        Client::new(&self.endpoint, opts)
    }
}
