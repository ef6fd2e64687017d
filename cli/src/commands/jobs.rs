use anyhow::Context;
use veriscribe_core::formats::JobStatus;
use veriscribe_core::ports::JobStore;
use veriscribe_local::SqliteJobStore;

use crate::JobsCommand;

pub async fn jobs(cmd: JobsCommand) -> anyhow::Result<()> {
    match cmd {
        JobsCommand::List { status, limit, db } => {
            let status = status.map(|s| s.parse::<JobStatus>()).transpose()?;
            let store = open_store(db)?;
            let jobs = store.list(status, limit).await?;
            println!(
                "{:<48} {:<12} {:<26} FAILURE REASON",
                "NAME", "STATUS", "CREATED"
            );
            for job in jobs {
                let created = job
                    .creation_time
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                println!(
                    "{:<48} {:<12} {:<26} {}",
                    job.medical_scribe_job_name,
                    job.medical_scribe_job_status,
                    created,
                    job.failure_reason.as_deref().unwrap_or("")
                );
            }
            Ok(())
        }
        JobsCommand::Get { name, db } => {
            let store = open_store(db)?;
            let job = store.get(&name).await?;
            println!("{}", serde_json::to_string_pretty(&job.to_api_json())?);
            Ok(())
        }
    }
}

pub fn open_store(db: Option<std::path::PathBuf>) -> anyhow::Result<SqliteJobStore> {
    let path = db.unwrap_or_else(veriscribe_local::default_db_path);
    SqliteJobStore::open(&path)
        .with_context(|| format!("cannot open the job status store {}", path.display()))
}
