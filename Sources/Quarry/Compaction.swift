import Foundation
import QuarryStore

extension QuarryCollection {
    /// Rewrites the collection at `path` as a compacted copy (LMDB's free pages dropped) and
    /// swaps it in; returns the file sizes before and after. Refused (`StoreError.locked`)
    /// while another process has the collection open, and while it is open in this one; opens
    /// elsewhere are refused until it ends. The copy is flushed to disk before the swap and the
    /// directory after it. A failure before the swap leaves the original untouched.
    public static func compact(at path: String) throws -> (before: Int, after: Int) {
        guard !registry.isOpen(path) else {
            throw QuarryError.invalidArgument("\(path) is open in this process; close it before compacting")
        }
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else {
            throw QuarryError.collectionNotFound(path: path)
        }
        let exclusive = try DirectoryLock(directory: path, mode: .exclusive)
        let staging = path + "/compact.tmp"
        let files = FileManager.default
        try? files.removeItem(atPath: staging)
        let before: Int
        do {
            let collection = try openUnshared(at: path, directoryLock: exclusive)
            before = try collection.environment.sizeOnDisk()
            try collection.environment.copyCompacted(to: staging)
        }
        // The original is closed here; the rename is atomic on one file system.
        guard rename(staging + "/data.mdb", path + "/data.mdb") == 0 else {
            let reason = String(cString: strerror(errno))
            try? files.removeItem(atPath: staging)
            throw QuarryError.invalidArgument("could not swap in the compacted copy: \(reason)")
        }
        try LMDBEnvironment.flushToDisk(path)
        try? files.removeItem(atPath: staging)
        withExtendedLifetime(exclusive) {}
        let after = (try? files.attributesOfItem(atPath: path + "/data.mdb")[.size] as? Int) ?? 0
        return (before, after)
    }
}
