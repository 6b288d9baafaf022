//! What a render costs per unit: the one set of prices both the estimate
//! before a render and the progress during it multiply by, so the two
//! agree and a user's override (other region, discounts) reaches both.

use serde::Serialize;

/// Prices (USD). Defaults: us-east-1, x86, on demand.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Prices {
    pub lambda_gb_second: f64,
    pub state_transition: f64,
    /// The render function's memory (MB): Lambda bills GB-seconds.
    pub memory_mb: u32,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            lambda_gb_second: 0.0000166667,
            state_transition: 0.000025,
            memory_mb: hyperframes_infra::LambdaMemory::DEFAULT.mb(),
        }
    }
}
