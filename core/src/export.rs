//! (stub, replaced by the portal-format branch)
pub enum ExportFormat {
    Csv,
    Json,
    SdmxCsv,
}
pub fn write_all(
    _f: ExportFormat,
    _k: &[String],
    _c: &[tudashalo_proto::pb::Cell],
    _m: &[tudashalo_proto::pb::MemberStatus],
) -> Result<Vec<u8>, String> {
    Ok(Vec::new())
}
