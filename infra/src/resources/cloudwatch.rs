//! Amazon CloudWatch: metrics and alarms.

use serde::Serialize;

use crate::handle::Handle;
use crate::resource::ResourceType;
use crate::synth::Problem;
use crate::validate::ResourceCheck;
use crate::value::{Number, Value};

/// A metric dimension. An alarm sees data only if its dimensions match the
/// ones the metric is published with exactly (all of them, no extras).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    /// The dimension name, e.g. `FunctionName` for `AWS/Lambda` metrics.
    pub name: String,
    /// The dimension value, e.g. the function's name (`Ref` of the function).
    pub value: Value<String>,
}

/// How the statistic is compared with `Threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ComparisonOperator {
    /// Alarms when the statistic is `>` the threshold.
    GreaterThanThreshold,
    /// Alarms when the statistic is `>=` the threshold.
    GreaterThanOrEqualToThreshold,
    /// Alarms when the statistic is `<` the threshold.
    LessThanThreshold,
    /// Alarms when the statistic is `<=` the threshold.
    LessThanOrEqualToThreshold,
}

/// How the alarm treats periods with no datapoint (CloudWatch's default is
/// `missing`; [`Metric::alarm`] uses `notBreaching`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TreatMissingData {
    /// Missing data counts as breaching the threshold.
    Breaching,
    /// Missing data counts as within the threshold: quiet periods are healthy.
    NotBreaching,
    /// The alarm keeps its current state through gaps.
    Ignore,
    /// If every period evaluated is missing, the alarm goes to `INSUFFICIENT_DATA`.
    Missing,
}

/// How datapoints in a period are aggregated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    /// The total of all datapoints; what count metrics (`Errors`, `Invocations`) need.
    Sum,
    /// The mean of the datapoints.
    Average,
    /// The lowest datapoint.
    Minimum,
    /// The highest datapoint.
    Maximum,
    /// The number of datapoints, not their values.
    SampleCount,
    /// A percentile such as p95; CloudFormation calls it ExtendedStatistic.
    Percentile(f64),
}

/// A CloudWatch metric with the statistic and period an alarm evaluates.
/// Obtained from handles (`metric_errors()`, `metric_failed()`, ...) so
/// namespace and dimensions are always right.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// The CloudWatch namespace, e.g. `AWS/Lambda` or `AWS/States`.
    pub namespace: String,
    /// The metric's name within the namespace, e.g. `Errors`.
    pub metric_name: String,
    /// Must match the published dimensions exactly; see [`Dimension`].
    pub dimensions: Vec<Dimension>,
    /// How datapoints in one period are aggregated. Default: `Sum`.
    pub statistic: Statistic,
    /// Length of one evaluation period, in seconds: 10, 20, 30 or a multiple of 60.
    /// Default: 300.
    pub period_seconds: u32,
}

impl Metric {
    /// A metric summed over 5-minute periods. Prefer the handles' `metric_*()`
    /// helpers, which fill in namespace and dimensions correctly.
    pub fn new(namespace: &str, metric_name: &str, dimensions: Vec<Dimension>) -> Self {
        Metric {
            namespace: namespace.into(),
            metric_name: metric_name.into(),
            dimensions,
            statistic: Statistic::Sum,
            period_seconds: 300,
        }
    }

    /// Replaces the statistic (default `Sum`).
    pub fn statistic(mut self, s: Statistic) -> Self {
        self.statistic = s;
        self
    }

    /// The 95th percentile (`ExtendedStatistic: p95`), for tail latency.
    pub fn p95(self) -> Self {
        self.statistic(Statistic::Percentile(95.0))
    }

    /// Replaces the period (default 300 s): 10, 20, 30 or a multiple of 60.
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
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct Alarm {
    /// `AlarmName`, up to 255 characters. Unset, CloudFormation generates one;
    /// set, changing it replaces the alarm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm_name: Option<Value<String>>,
    /// `AlarmDescription`, up to 1024 characters; shown in notifications, so say
    /// what fired and what to check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm_description: Option<String>,
    /// `Namespace` of the metric, e.g. `AWS/Lambda`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `MetricName`. Synth reports an alarm with neither this nor `Metrics`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    /// `Dimensions` of the metric; omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<Dimension>,
    /// `Statistic` (`Sum`, `Average`, ...). Exactly one of this and
    /// `extended_statistic`; synth reports both set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statistic: Option<String>,
    /// `ExtendedStatistic`: a percentile such as `p95`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_statistic: Option<String>,
    /// `Period` in seconds: 10, 20, 30 or a multiple of 60. `Period` ×
    /// `EvaluationPeriods` may not exceed one day (seven days for periods of an
    /// hour or more).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    /// `EvaluationPeriods`: how many recent periods the alarm looks at.
    pub evaluation_periods: u32,
    /// `DatapointsToAlarm`: how many of those periods must breach ("M out of N").
    /// Unset means all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datapoints_to_alarm: Option<u32>,
    /// `Threshold`, in the metric's unit; may be a parameter reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Value<Number>>,
    /// `ComparisonOperator`: how the statistic is compared with the threshold.
    pub comparison_operator: ComparisonOperator,
    /// `TreatMissingData`; unset means CloudWatch's `missing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub treat_missing_data: Option<TreatMissingData>,
    /// `AlarmActions`: up to 5 ARNs (typically SNS topics) notified on entering `ALARM`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alarm_actions: Vec<Value<String>>,
    /// `OKActions`: up to 5 ARNs notified on returning to `OK`.
    #[serde(rename = "OKActions", skip_serializing_if = "Vec::is_empty")]
    pub ok_actions: Vec<Value<String>>,
    /// `InsufficientDataActions`: up to 5 ARNs notified on entering `INSUFFICIENT_DATA`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub insufficient_data_actions: Vec<Value<String>>,
}

impl ResourceType for Alarm {
    const TYPE: &'static str = "AWS::CloudWatch::Alarm";
    const PROPERTIES: Option<&'static [&'static str]> = Some(super::schema::ALARM);

    /// A metric to watch, and one statistic.
    fn validate(check: &ResourceCheck<'_>) -> Vec<Problem> {
        let mut out = Vec::new();
        if !check.has("MetricName") && !check.has("Metrics") {
            out.push(check.problem("", "alarm has no metric: set MetricName and Namespace (build it from a handle's metric_*() helper) or Metrics"));
        }
        if check.has("Statistic") && check.has("ExtendedStatistic") {
            out.push(check.problem(
                "",
                "alarm sets both Statistic and ExtendedStatistic; keep one",
            ));
        }
        out
    }
}

impl Alarm {
    /// Sets `AlarmName`; changing it later replaces the alarm.
    pub fn named(mut self, name: impl Into<Value<String>>) -> Self {
        self.alarm_name = Some(name.into());
        self
    }

    /// Sets `AlarmDescription`, included in every notification.
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

    /// Builder form of [`Alarm::add_alarm_action`].
    pub fn with_action(mut self, target: Value<String>) -> Self {
        self.add_alarm_action(target);
        self
    }
}

impl Handle<Alarm> {
    /// The alarm's name (`Ref`).
    pub fn name(&self) -> Value<String> {
        self.ref_value()
    }

    /// The alarm's ARN (`Fn::GetAtt Arn`), for composite alarms and IAM policies.
    pub fn arn(&self) -> Value<String> {
        self.att("Arn")
    }
}
