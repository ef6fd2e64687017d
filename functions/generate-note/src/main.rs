use generate_note::handler::{build, handle};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use veriscribe_aws::{clients::load_sdk_config, telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json_logging();
    let config = Config::from_env()?;
    let function = build(&config, &load_sdk_config().await).await?;
    let function = &function;
    run(service_fn(move |event: LambdaEvent<_>| async move {
        handle(function, event).await
    }))
    .await
}
