-- AlterTable
ALTER TABLE "Shop" ADD COLUMN "proxyPath" TEXT;

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

-- CreateIndex
CREATE UNIQUE INDEX "AnonymousCount_shopId_day_type_resourceId_key" ON "AnonymousCount"("shopId", "day", "type", "resourceId");

