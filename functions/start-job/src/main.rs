use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use veriscribe_aws::{clients::load_sdk_config, telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logging();
    let config = Config::from_env()?;
    let stage = start_job::handler::build(&config, &load_sdk_config().await)?;
    let stage = &stage;
    run(service_fn(move |event: LambdaEvent<_>| async move {
        start_job::handler::handle(stage, event).await
    }))
    .await
}
