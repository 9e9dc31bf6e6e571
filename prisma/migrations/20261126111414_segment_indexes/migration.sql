-- DropIndex
DROP INDEX "Order_shopId_customerShopifyId_idx";

-- CreateIndex
CREATE INDEX "Customer_shopId_lastOrderAt_idx" ON "Customer"("shopId", "lastOrderAt");

-- CreateIndex
CREATE INDEX "Customer_shopId_firstOrderAt_idx" ON "Customer"("shopId", "firstOrderAt");

-- CreateIndex
CREATE INDEX "Order_shopId_customerShopifyId_processedAt_idx" ON "Order"("shopId", "customerShopifyId", "processedAt");

-- CreateIndex
CREATE INDEX "Checkout_shopId_shopifyCreatedAt_idx" ON "Checkout"("shopId", "shopifyCreatedAt");

-- CreateIndex
CREATE INDEX "StorefrontEvent_shopId_occurredAt_idx" ON "StorefrontEvent"("shopId", "occurredAt");

