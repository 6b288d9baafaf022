//! Amazon CloudWatch: metrics and alarms.

use serde::Serialize;
use serde_with::skip_serializing_none;

use crate::template::Handle;
use crate::value::{Number, Value};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    pub name: String,
    pub value: Value<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ComparisonOperator {
    GreaterThanThreshold,
    GreaterThanOrEqualToThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TreatMissingData {
    Breaching,
    NotBreaching,
    Ignore,
    Missing,
}

/// How datapoints in a period are aggregated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    Sum,
    Average,
    Minimum,
    Maximum,
    SampleCount,
    /// A percentile such as p95; CloudFormation calls it ExtendedStatistic.
    Percentile(f64),
}

/// A CloudWatch metric with the statistic and period an alarm evaluates.
/// Obtained from handles (`metric_errors()`, `metric_failed()`, ...) so
/// namespace and dimensions are always right.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<Dimension>,
    pub statistic: Statistic,
    pub period_seconds: u32,
}

impl Metric {
    pub fn new(namespace: &str, metric_name: &str, dimensions: Vec<Dimension>) -> Self {
        Metric {
            namespace: namespace.into(),
            metric_name: metric_name.into(),
            dimensions,
            statistic: Statistic::Sum,
            period_seconds: 300,
        }
    }

    pub fn statistic(mut self, s: Statistic) -> Self {
        self.statistic = s;
        self
    }

    pub fn p95(self) -> Self {
        self.statistic(Statistic::Percentile(95.0))
    }

    pub fn period_seconds(mut self, seconds: u32) -> Self {
        self.period_seconds = seconds;
        self
    }

    /// An alarm on this metric. Missing data does not breach by default:
    /// an idle render stack is healthy, not alarming.
    pub fn alarm(
        &self,
        threshold: impl Into<Value<Number>>,
        comparison: ComparisonOperator,
        evaluation_periods: u32,
    ) -> Alarm {
        let (statistic, extended) = match self.statistic {
            Statistic::Sum => (Some("Sum"), None),
            Statistic::Average => (Some("Average"), None),
            Statistic::Minimum => (Some("Minimum"), None),
            Statistic::Maximum => (Some("Maximum"), None),
            Statistic::SampleCount => (Some("SampleCount"), None),
            Statistic::Percentile(p) => (None, Some(format!("p{p}"))),
        };
        Alarm {
            alarm_name: None,
            alarm_description: None,
            namespace: Some(self.namespace.clone()),
            metric_name: Some(self.metric_name.clone()),
            dimensions: self.dimensions.clone(),
            statistic: statistic.map(str::to_string),
            extended_statistic: extended,
            period: Some(self.period_seconds),
            evaluation_periods,
            datapoints_to_alarm: None,
            threshold: Some(threshold.into()),
            comparison_operator: comparison,
            treat_missing_data: Some(TreatMissingData::NotBreaching),
            alarm_actions: Vec::new(),
            ok_actions: Vec::new(),
            insufficient_data_actions: Vec::new(),
        }
    }
}

/// `AWS::CloudWatch::Alarm` on a single metric.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alarm {
    pub alarm_name: Option<Value<String>>,
    pub alarm_description: Option<String>,
    pub namespace: Option<String>,
    pub metric_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<Dimension>,
    pub statistic: Option<String>,
    pub extended_statistic: Option<String>,
    pub period: Option<u32>,
    pub evaluation_periods: u32,
    pub datapoints_to_alarm: Option<u32>,
    pub threshold: Option<Value<Number>>,
    pub comparison_operator: ComparisonOperator,
    pub treat_missing_data: Option<TreatMissingData>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alarm_actions: Vec<Value<String>>,
    #[serde(rename = "OKActions", skip_serializing_if = "Vec::is_empty")]
    pub ok_actions: Vec<Value<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub insufficient_data_actions: Vec<Value<String>>,
}

impl Alarm {
    pub fn named(mut self, name: impl Into<Value<String>>) -> Self {
        self.alarm_name = Some(name.into());
        self
    }

    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.alarm_description = Some(d.into());
        self
    }

    /// Notifies `target` (an SNS topic ARN, typically `topic.arn()`) when
    /// the alarm fires.
    pub fn add_alarm_action(&mut self, target: Value<String>) -> &mut Self {
        if !self.alarm_actions.contains(&target) {
            self.alarm_actions.push(target);
        }
        self
    }

    /// Also notify on recovery.
    pub fn add_ok_action(&mut self, target: Value<String>) -> &mut Self {
        if !self.ok_actions.contains(&target) {
            self.ok_actions.push(target);
        }
        self
    }

    pub fn with_action(mut self, target: Value<String>) -> Self {
        self.add_alarm_action(target);
        self
    }
}

impl Handle<Alarm> {
    pub fn name(&self) -> Value<String> {
        self.ref_value()
    }

    pub fn arn(&self) -> Value<String> {
        self.att("Arn")
    }
}
