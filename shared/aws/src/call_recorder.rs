//! Records every request the SDK clients of one function send, so a test can check each call
//! against the IAM table the template is evaluated with (`data/aws_calls.tsv`): moto ignores
//! IAM, so a call the table lacks would pass every emulator test and fail on AWS.

use std::sync::{Arc, Mutex};

use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// One request as it went on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The tag the config was built with (the function's name).
    pub function: String,
    pub method: String,
    pub uri: String,
    /// Headers lower-cased, those a policy evaluation can depend on.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The requests recorded so far, in order.
pub type CallLog = Arc<Mutex<Vec<RecordedRequest>>>;

const KEPT_HEADERS: &[&str] = &[
    "x-amz-target",
    "content-type",
    "if-none-match",
    "if-match",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
];

#[derive(Debug, Clone)]
struct RecordingClient {
    inner: SharedHttpClient,
    function: String,
    log: CallLog,
}

#[derive(Debug, Clone)]
struct RecordingConnector {
    inner: SharedHttpConnector,
    function: String,
    log: CallLog,
}

impl HttpClient for RecordingClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(RecordingConnector {
            inner: self.inner.http_connector(settings, components),
            function: self.function.clone(),
            log: self.log.clone(),
        })
    }
}

impl HttpConnector for RecordingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let headers = KEPT_HEADERS
            .iter()
            .filter_map(|name| {
                request
                    .headers()
                    .get(*name)
                    .map(|v| (name.to_string(), v.to_string()))
            })
            .collect();
        let recorded = RecordedRequest {
            function: self.function.clone(),
            method: request.method().to_string(),
            uri: request.uri().to_string(),
            headers,
            body: request
                .body()
                .bytes()
                .map(<[u8]>::to_vec)
                .unwrap_or_default(),
        };
        self.log.lock().unwrap().push(recorded);
        self.inner.call(request)
    }
}

/// `sdk` with every client built from it recording into `log` under `function`.
pub fn recording_sdk_config(sdk: &SdkConfig, function: &str, log: &CallLog) -> SdkConfig {
    let inner = sdk
        .http_client()
        .unwrap_or_else(|| aws_smithy_http_client::Builder::new().build_http());
    sdk.to_builder()
        .http_client(RecordingClient {
            inner,
            function: function.to_string(),
            log: log.clone(),
        })
        .build()
}
