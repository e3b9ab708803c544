//! (stub)
#[derive(Debug, clap::Args)]
pub struct PortalArgs {}
pub fn run(_args: PortalArgs) -> anyhow::Result<()> {
    Ok(())
}
