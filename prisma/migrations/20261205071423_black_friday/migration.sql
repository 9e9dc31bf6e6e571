-- CreateTable
CREATE TABLE "RateLimitBucket" (
    "key" TEXT NOT NULL PRIMARY KEY,
    "tokens" REAL NOT NULL,
    "at" BIGINT NOT NULL,
    "granted" INTEGER NOT NULL DEFAULT 0
);

-- CreateIndex
CREATE INDEX "RateLimitBucket_at_idx" ON "RateLimitBucket"("at");

-- CreateIndex
CREATE INDEX "Order_shopId_checkoutShopifyId_idx" ON "Order"("shopId", "checkoutShopifyId");

