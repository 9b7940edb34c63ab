// The SQLite driver's checkpoints for a Durability::caller database (the daemon's, on the
// spool's file system): they run on a thread of their own, so a COMMIT that grows the log past
// 4000 pages returns without copying the log into the database, and the copy happens soon after
// anyway; the data reads back whole from a new connection, and the log stays bounded.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "cases/sql.hpp"

namespace referent::cases::test {
namespace {

off_t file_size(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

class SqliteCheckpoint : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/referent-ckpt-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        path_ = dir_ + "/cases.db";
    }
    void TearDown() override {
        for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path_ + suffix).c_str());
        ::rmdir(dir_.c_str());
    }

    // One transaction of `megabytes` MiB of blobs (256 KiB each).
    static void write(sql::Db& db, int megabytes, int& next) {
        ASSERT_TRUE(db.begin().ok());
        for (int i = 0; i < megabytes * 4; ++i)
            ASSERT_TRUE(db.query("INSERT INTO t (id, b) VALUES ($1, $2)",
                                 {std::int64_t{next++}, sql::Blob{std::string(256 << 10, 'x')}})
                            .ok());
        ASSERT_TRUE(db.commit().ok());
    }

    std::string dir_, path_;
};

TEST_F(SqliteCheckpoint, ACommitPastTheThresholdLeavesTheCopyToAThreadOfItsOwn) {
    auto db = sql::open_sqlite(path_, 5000, sql::Durability::caller);
    ASSERT_TRUE(db.ok()) << db.error().message;
    ASSERT_TRUE((*db)->script("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)").ok());
    int next = 0;
    write(**db, 20, next);  // 5,000+ pages of log: past the threshold, under twice it
    // The writer did not copy the log (SQLite's autocheckpoint would have, in the COMMIT)...
    EXPECT_LT(file_size(path_), 4 << 20) << "checkpointed inline";
    // ...the thread does, shortly after.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (file_size(path_) < (20 << 20) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_GE(file_size(path_), 20 << 20) << "never checkpointed";
    // The log is reused (restarted) by the next writer, so it does not grow with every write.
    for (int round = 0; round < 6; ++round) {
        write(**db, 8, next);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    EXPECT_LT(file_size(path_ + "-wal"), 3 * 4000 * 4096 + (1 << 20));
    db->reset();
    auto again = sql::open_sqlite(path_, 5000, sql::Durability::full);
    ASSERT_TRUE(again.ok());
    auto rows = (*again)->query("SELECT COUNT(*), SUM(length(b)) FROM t", {});
    ASSERT_TRUE(rows.ok());
    EXPECT_EQ(sql::as_int(rows->front()[0]), next);
    EXPECT_EQ(sql::as_int(rows->front()[1]), std::int64_t{next} * (256 << 10));
}

}  // namespace
}  // namespace referent::cases::test
