//! Converts a Resemblyzer `pretrained.pt` to the speaker-encoder file and prints its sha256
//! (what `veriscribe model fetch` does after downloading the wheel).
//! Usage: cargo run --release -p veriscribe-model --example speaker_convert -- PRETRAINED_PT OUT
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, input, output] = args.as_slice() else {
        return Err("usage: speaker_convert PRETRAINED_PT OUT".into());
    };
    let checkpoint = std::fs::read(input)?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(output)?);
    veriscribe_model::convert_speaker_checkpoint(&checkpoint, &mut out)?;
    out.flush()?;
    drop(out);
    println!(
        "{}",
        veriscribe_model::sha256_file(std::path::Path::new(output))?
    );
    Ok(())
}
