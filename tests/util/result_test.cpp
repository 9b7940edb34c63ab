#include "util/result.hpp"

#include <gtest/gtest.h>

#include <string>

using referent::util::Error;
using referent::util::Result;
using referent::util::Status;

TEST(Result, HoldsValueOrError) {
    Result<int> good = 42;
    ASSERT_TRUE(good.ok());
    EXPECT_EQ(*good, 42);

    Result<int> bad = Error::temporary("disk full");
    ASSERT_FALSE(bad.ok());
    EXPECT_TRUE(bad.error().is_temporary());
    EXPECT_EQ(bad.error().message, "disk full");
}

TEST(Result, StatusDefaultsToOk) {
    Status s;
    EXPECT_TRUE(s.ok());
    Status f = Error::permanent("bad");
    EXPECT_FALSE(f.ok());
    EXPECT_FALSE(f.error().is_temporary());
}
