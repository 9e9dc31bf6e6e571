-- AlterTable
ALTER TABLE "Shop" ADD COLUMN "proxyPath" TEXT;
ALTER TABLE "Shop" ADD COLUMN "shopifyUpdatedAt" DATETIME;

-- CreateTable
CREATE TABLE "DeletedOrder" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "shopId" INTEGER NOT NULL,
    "shopifyId" TEXT NOT NULL,
    "customerShopifyId" TEXT,
    "deletedAt" DATETIME NOT NULL,
    CONSTRAINT "DeletedOrder_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "AnonymousCount" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "shopId" INTEGER NOT NULL,
    "day" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "resourceId" TEXT NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "AnonymousCount_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Customer" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "shopId" INTEGER NOT NULL,
    "shopifyId" TEXT NOT NULL,
    "email" TEXT,
    "firstName" TEXT,
    "lastName" TEXT,
    "state" TEXT,
    "tags" TEXT NOT NULL DEFAULT '',
    "acceptsEmailMarketing" BOOLEAN NOT NULL DEFAULT false,
    "countryCode" TEXT,
    "provinceCode" TEXT,
    "city" TEXT,
    "ordersCount" INTEGER NOT NULL DEFAULT 0,
    "totalSpent" INTEGER NOT NULL DEFAULT 0,
    "firstOrderAt" DATETIME,
    "lastOrderAt" DATETIME,
    "shopifyOrdersCount" INTEGER,
    "shopifySpent" INTEGER,
    "shopifyTotalsAt" DATETIME,
    "shopifyCreatedAt" DATETIME,
    "shopifyUpdatedAt" DATETIME NOT NULL,
    "deletedAt" DATETIME,
    "syncedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Customer_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Customer" ("acceptsEmailMarketing", "city", "countryCode", "deletedAt", "email", "firstName", "firstOrderAt", "id", "lastName", "lastOrderAt", "ordersCount", "provinceCode", "shopId", "shopifyCreatedAt", "shopifyId", "shopifyUpdatedAt", "state", "syncedAt", "tags", "totalSpent") SELECT "acceptsEmailMarketing", "city", "countryCode", "deletedAt", "email", "firstName", "firstOrderAt", "id", "lastName", "lastOrderAt", "ordersCount", "provinceCode", "shopId", "shopifyCreatedAt", "shopifyId", "shopifyUpdatedAt", "state", "syncedAt", "tags", "totalSpent" FROM "Customer";
DROP TABLE "Customer";
ALTER TABLE "new_Customer" RENAME TO "Customer";
CREATE INDEX "Customer_shopId_email_idx" ON "Customer"("shopId", "email");
CREATE INDEX "Customer_shopId_lastOrderAt_idx" ON "Customer"("shopId", "lastOrderAt");
CREATE INDEX "Customer_shopId_firstOrderAt_idx" ON "Customer"("shopId", "firstOrderAt");
CREATE UNIQUE INDEX "Customer_shopId_shopifyId_key" ON "Customer"("shopId", "shopifyId");
CREATE TABLE "new_Order" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "shopId" INTEGER NOT NULL,
    "shopifyId" TEXT NOT NULL,
    "name" TEXT,
    "customerShopifyId" TEXT,
    "email" TEXT,
    "currency" TEXT NOT NULL,
    "totalPrice" INTEGER NOT NULL,
    "subtotalPrice" INTEGER NOT NULL DEFAULT 0,
    "totalDiscounts" INTEGER NOT NULL DEFAULT 0,
    "totalTax" INTEGER NOT NULL DEFAULT 0,
    "totalRefunded" INTEGER NOT NULL DEFAULT 0,
    "financialStatus" TEXT,
    "fulfillmentStatus" TEXT,
    "cancelledAt" DATETIME,
    "cancelReason" TEXT,
    "closedAt" DATETIME,
    "discountCodes" TEXT NOT NULL DEFAULT '',
    "tags" TEXT NOT NULL DEFAULT '',
    "cartToken" TEXT,
    "checkoutToken" TEXT,
    "checkoutShopifyId" TEXT,
    "sourceName" TEXT,
    "shippingAddressHash" TEXT,
    "test" BOOLEAN NOT NULL DEFAULT false,
    "processedAt" DATETIME NOT NULL,
    "shopifyCreatedAt" DATETIME NOT NULL,
    "shopifyUpdatedAt" DATETIME NOT NULL,
    "syncedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Order_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Order" ("cancelReason", "cancelledAt", "cartToken", "checkoutShopifyId", "checkoutToken", "closedAt", "currency", "customerShopifyId", "discountCodes", "email", "financialStatus", "fulfillmentStatus", "id", "name", "processedAt", "shippingAddressHash", "shopId", "shopifyCreatedAt", "shopifyId", "shopifyUpdatedAt", "sourceName", "subtotalPrice", "syncedAt", "tags", "test", "totalDiscounts", "totalPrice", "totalRefunded", "totalTax") SELECT "cancelReason", "cancelledAt", "cartToken", "checkoutShopifyId", "checkoutToken", "closedAt", "currency", "customerShopifyId", "discountCodes", "email", "financialStatus", "fulfillmentStatus", "id", "name", "processedAt", "shippingAddressHash", "shopId", "shopifyCreatedAt", "shopifyId", "shopifyUpdatedAt", "sourceName", "subtotalPrice", "syncedAt", "tags", "test", "totalDiscounts", "totalPrice", "totalRefunded", "totalTax" FROM "Order";
DROP TABLE "Order";
ALTER TABLE "new_Order" RENAME TO "Order";
CREATE INDEX "Order_shopId_customerShopifyId_processedAt_idx" ON "Order"("shopId", "customerShopifyId", "processedAt");
CREATE INDEX "Order_shopId_processedAt_idx" ON "Order"("shopId", "processedAt");
CREATE INDEX "Order_shopId_checkoutToken_idx" ON "Order"("shopId", "checkoutToken");
CREATE INDEX "Order_shopId_shopifyUpdatedAt_idx" ON "Order"("shopId", "shopifyUpdatedAt");
CREATE UNIQUE INDEX "Order_shopId_shopifyId_key" ON "Order"("shopId", "shopifyId");
CREATE TABLE "new_Refund" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "shopId" INTEGER NOT NULL,
    "orderId" INTEGER NOT NULL,
    "shopifyId" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "createdAt" DATETIME NOT NULL,
    CONSTRAINT "Refund_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Refund_orderId_fkey" FOREIGN KEY ("orderId") REFERENCES "Order" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Refund" ("amount", "createdAt", "id", "orderId", "shopId", "shopifyId") SELECT "amount", "createdAt", "id", "orderId", "shopId", "shopifyId" FROM "Refund";
DROP TABLE "Refund";
ALTER TABLE "new_Refund" RENAME TO "Refund";
CREATE INDEX "Refund_orderId_idx" ON "Refund"("orderId");
CREATE UNIQUE INDEX "Refund_shopId_shopifyId_key" ON "Refund"("shopId", "shopifyId");
CREATE TABLE "new_Cart" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "shopId" INTEGER NOT NULL,
    "token" TEXT NOT NULL,
    "currency" TEXT,
    "totalPrice" INTEGER NOT NULL DEFAULT 0,
    "itemCount" INTEGER NOT NULL DEFAULT 0,
    "visitorId" TEXT,
    "shopifyCreatedAt" DATETIME,
    "shopifyUpdatedAt" DATETIME NOT NULL,
    "syncedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Cart_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Cart" ("currency", "id", "itemCount", "shopId", "shopifyCreatedAt", "shopifyUpdatedAt", "syncedAt", "token", "totalPrice", "visitorId") SELECT "currency", "id", "itemCount", "shopId", "shopifyCreatedAt", "shopifyUpdatedAt", "syncedAt", "token", "totalPrice", "visitorId" FROM "Cart";
DROP TABLE "Cart";
ALTER TABLE "new_Cart" RENAME TO "Cart";
CREATE INDEX "Cart_shopId_shopifyUpdatedAt_idx" ON "Cart"("shopId", "shopifyUpdatedAt");
CREATE UNIQUE INDEX "Cart_shopId_token_key" ON "Cart"("shopId", "token");
CREATE TABLE "new_Checkout" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "shopId" INTEGER NOT NULL,
    "shopifyId" TEXT NOT NULL,
    "token" TEXT,
    "cartToken" TEXT,
    "customerShopifyId" TEXT,
    "email" TEXT,
    "currency" TEXT NOT NULL,
    "totalPrice" INTEGER NOT NULL,
    "subtotalPrice" INTEGER NOT NULL DEFAULT 0,
    "itemCount" INTEGER NOT NULL DEFAULT 0,
    "completedAt" DATETIME,
    "orderShopifyId" TEXT,
    "shopifyCreatedAt" DATETIME NOT NULL,
    "shopifyUpdatedAt" DATETIME NOT NULL,
    "syncedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Checkout_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Checkout" ("cartToken", "completedAt", "currency", "customerShopifyId", "email", "id", "itemCount", "orderShopifyId", "shopId", "shopifyCreatedAt", "shopifyId", "shopifyUpdatedAt", "subtotalPrice", "syncedAt", "token", "totalPrice") SELECT "cartToken", "completedAt", "currency", "customerShopifyId", "email", "id", "itemCount", "orderShopifyId", "shopId", "shopifyCreatedAt", "shopifyId", "shopifyUpdatedAt", "subtotalPrice", "syncedAt", "token", "totalPrice" FROM "Checkout";
DROP TABLE "Checkout";
ALTER TABLE "new_Checkout" RENAME TO "Checkout";
CREATE INDEX "Checkout_shopId_token_idx" ON "Checkout"("shopId", "token");
CREATE INDEX "Checkout_shopId_cartToken_idx" ON "Checkout"("shopId", "cartToken");
CREATE INDEX "Checkout_shopId_customerShopifyId_idx" ON "Checkout"("shopId", "customerShopifyId");
CREATE INDEX "Checkout_shopId_shopifyCreatedAt_idx" ON "Checkout"("shopId", "shopifyCreatedAt");
CREATE UNIQUE INDEX "Checkout_shopId_shopifyId_key" ON "Checkout"("shopId", "shopifyId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE UNIQUE INDEX "DeletedOrder_shopId_shopifyId_key" ON "DeletedOrder"("shopId", "shopifyId");

-- CreateIndex
CREATE UNIQUE INDEX "AnonymousCount_shopId_day_type_resourceId_key" ON "AnonymousCount"("shopId", "day", "type", "resourceId");

