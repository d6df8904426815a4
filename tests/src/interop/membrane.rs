//! The `nitric-local` binary as a separate process, as a Nitric user runs it
//! for an app in any language, plus direct key/value access to check what
//! the app stored.

use nitric_protocol::kvstore::v1::kv_store_client::KvStoreClient;
use nitric_protocol::kvstore::v1::{
    KvStoreDeleteKeyRequest, KvStoreGetValueRequest, KvStoreScanKeysRequest,
    KvStoreSetValueRequest, Store, ValueRef,
};
use prost_types::value::Kind;
use serde_json::Value as Json;
use tokio::process::Command;
use tonic::transport::Channel;

use crate::Process;

/// How long a minute of a schedule's rate lasts on these membranes: the
/// `routes` app's "5 minutes" schedule fires every half second.
const SCHEDULE_MINUTE: &str = "100ms";

/// A running `nitric-local` process with its own data directory and free
/// ports; killed when dropped.
pub struct Membrane {
    process: Process,
    address: String,
    _data: tempfile::TempDir,
}

impl Membrane {
    /// Starts `binary` (the test's `env!("CARGO_BIN_EXE_nitric-local-membrane")`)
    /// on a free gRPC port, with free websocket ports, and waits until it
    /// serves.
    pub async fn start(binary: &str) -> Self {
        Self::start_logging(binary, "info").await
    }

    /// Like [`start`](Self::start), logging what `filter` (a `RUST_LOG`
    /// value) lets through.
    pub async fn start_logging(binary: &str, filter: &str) -> Self {
        Self::start_at(binary, "127.0.0.1:0", filter).await
    }

    /// Like [`start_logging`](Self::start_logging), with its gRPC services
    /// on `grpc_addr`: a fixed address lets a test restart the membrane
    /// where the app looks for it.
    pub async fn start_at(binary: &str, grpc_addr: &str, filter: &str) -> Self {
        let data = tempfile::tempdir().expect("create a data directory");
        let mut command = Command::new(binary);
        command
            .args([
                "--grpc-addr",
                grpc_addr,
                "--ws-port",
                "0",
                "--api-port",
                "0",
                "--schedule-minute",
                SCHEDULE_MINUTE,
            ])
            .arg("--data-dir")
            .arg(data.path())
            .env("RUST_LOG", filter)
            .env("NO_COLOR", "1");
        let mut process = Process::spawn("nitric-local", command);
        let address = process
            .stdout_after("nitric-local: gRPC listening on ")
            .await;
        Self {
            process,
            address,
            _data: data,
        }
    }

    /// `host:port` of its gRPC services, for the app's `SERVICE_ADDRESS`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Waits until `socket`'s gateway runs (an app registered a handler for
    /// it) and returns its `ws://` URL.
    pub async fn socket_url(&mut self, socket: &str) -> String {
        self.process
            .stdout_after(&format!("websocket \"{socket}\" listening on "))
            .await
    }

    /// Waits until `api`'s listener runs (an app registered a route of it)
    /// and returns its `http://` URL, also when a wait for another line
    /// (such as [`socket_url`](Self::socket_url)) read past it.
    pub async fn api_url(&mut self, api: &str) -> String {
        let prefix = format!("api \"{api}\" listening on ");
        let printed = self.output();
        match printed.lines().find_map(|line| line.strip_prefix(&prefix)) {
            Some(url) => url.trim().to_owned(),
            None => self.process.stdout_after(&prefix).await,
        }
    }

    /// Waits for a log line containing `needle` and returns it.
    pub async fn log_line(&mut self, needle: &str) -> String {
        self.process.stderr_line(needle).await
    }

    /// Waits until the app has declared a policy on each of `resources`
    /// (such as `KeyValueStore "connections"`), as the membrane logs it.
    /// The cloud has every policy in place before the first request; the
    /// Node SDK sends its policies after opening its streams, so a test
    /// that drives an app at once waits for them first.
    pub async fn wait_for_policies(&mut self, resources: &[&str]) {
        let needles: Vec<String> = resources
            .iter()
            .map(|resource| format!(" on {resource}"))
            .collect();
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        self.wait_for_log_lines(&needles).await;
    }

    /// Waits until each of `needles` has appeared in a log line, in any
    /// order. Lines are read once: wait for everything a step needs in one
    /// call.
    pub async fn wait_for_log_lines(&mut self, needles: &[&str]) {
        self.process.stderr_lines(needles).await;
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Everything the membrane logged so far.
    pub fn output(&self) -> String {
        self.process.output()
    }

    async fn kv(&self) -> KvStoreClient<Channel> {
        KvStoreClient::connect(format!("http://{}", self.address))
            .await
            .expect("connect to the membrane's KvStore")
    }

    /// The keys of `store`, as `ScanKeys` lists them.
    pub async fn keys(&self, store: &str) -> Vec<String> {
        let request = KvStoreScanKeysRequest {
            store: Some(Store { name: store.into() }),
            prefix: String::new(),
        };
        let mut keys = self
            .kv()
            .await
            .scan_keys(request)
            .await
            .expect("scan keys")
            .into_inner();
        let mut found = Vec::new();
        while let Some(key) = keys.message().await.expect("read a scanned key") {
            found.push(key.key);
        }
        found.sort();
        found
    }

    /// The value of `key` in `store` as JSON, `None` if it is missing.
    pub async fn get(&self, store: &str, key: &str) -> Option<Json> {
        let request = KvStoreGetValueRequest {
            r#ref: Some(value_ref(store, key)),
        };
        match self.kv().await.get_value(request).await {
            Ok(response) => {
                let content = response.into_inner().value?.content.unwrap_or_default();
                Some(struct_to_json(content))
            }
            Err(status) if status.code() == tonic::Code::NotFound => None,
            Err(status) => panic!("GetValue {store}/{key}: {status}"),
        }
    }

    /// Writes `value` (a JSON object) to `key` in `store`.
    pub async fn set(&self, store: &str, key: &str, value: Json) {
        let request = KvStoreSetValueRequest {
            r#ref: Some(value_ref(store, key)),
            content: Some(json_to_struct(value)),
        };
        self.kv()
            .await
            .set_value(request)
            .await
            .unwrap_or_else(|status| panic!("SetValue {store}/{key}: {status}"));
    }

    /// Deletes `key` from `store`.
    pub async fn delete(&self, store: &str, key: &str) {
        let request = KvStoreDeleteKeyRequest {
            r#ref: Some(value_ref(store, key)),
        };
        self.kv()
            .await
            .delete_key(request)
            .await
            .unwrap_or_else(|status| panic!("DeleteKey {store}/{key}: {status}"));
    }
}

fn value_ref(store: &str, key: &str) -> ValueRef {
    ValueRef {
        store: store.into(),
        key: key.into(),
    }
}

fn struct_to_json(content: prost_types::Struct) -> Json {
    Json::Object(
        content
            .fields
            .into_iter()
            .map(|(name, value)| (name, value_to_json(value)))
            .collect(),
    )
}

fn value_to_json(value: prost_types::Value) -> Json {
    match value.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(flag)) => Json::Bool(flag),
        Some(Kind::NumberValue(number)) => serde_json::Number::from_f64(number)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        Some(Kind::StringValue(text)) => Json::String(text),
        Some(Kind::StructValue(content)) => struct_to_json(content),
        Some(Kind::ListValue(list)) => {
            Json::Array(list.values.into_iter().map(value_to_json).collect())
        }
    }
}

fn json_to_struct(value: Json) -> prost_types::Struct {
    let Json::Object(fields) = value else {
        panic!("a key/value store value is a JSON object, not {value}");
    };
    prost_types::Struct {
        fields: fields
            .into_iter()
            .map(|(name, value)| (name, json_to_value(value)))
            .collect(),
    }
}

fn json_to_value(value: Json) -> prost_types::Value {
    let kind = match value {
        Json::Null => Kind::NullValue(0),
        Json::Bool(flag) => Kind::BoolValue(flag),
        Json::Number(number) => Kind::NumberValue(number.as_f64().unwrap_or_default()),
        Json::String(text) => Kind::StringValue(text),
        Json::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.into_iter().map(json_to_value).collect(),
        }),
        object @ Json::Object(_) => Kind::StructValue(json_to_struct(object)),
    };
    prost_types::Value { kind: Some(kind) }
}
