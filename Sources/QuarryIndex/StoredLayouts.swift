// The posting-list block and vector-record layouts the search scans in place (`IVFBlock`,
// `StoredVector`, `IVFLayout`) are part of the stored format and live in QuarrySchema; every
// importer of QuarryIndex sees them as before.
@_exported import QuarrySchema
