use std::sync::Arc;

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use transcribe::handler::{build, handle};
use veriscribe_asr::WhisperRecognizer;
use veriscribe_aws::{clients::load_sdk_config, telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logging();
    veriscribe_asr::return_large_buffers_to_os();
    let config = Config::from_env()?;
    // The model loads once per container (init phase), not per message.
    let recognizer = WhisperRecognizer::load(&config.model_path, None, config.max_audio_seconds)?;
    let function = build(&config, &load_sdk_config().await, Arc::new(recognizer))?;
    let function = &function;
    run(service_fn(move |event: LambdaEvent<_>| async move {
        handle(function, event).await
    }))
    .await
}
