-- CreateTable
CREATE TABLE "Message" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "shopId" INTEGER NOT NULL,
    "name" TEXT NOT NULL,
    "segmentHandle" TEXT NOT NULL,
    "format" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "triggerValue" INTEGER,
    "priority" INTEGER NOT NULL DEFAULT 0,
    "pageTypes" TEXT NOT NULL DEFAULT '',
    "pathContains" TEXT NOT NULL DEFAULT '[]',
    "oncePerSession" BOOLEAN NOT NULL DEFAULT true,
    "everyDays" INTEGER,
    "headline" TEXT NOT NULL,
    "body" TEXT NOT NULL DEFAULT '',
    "buttonLabel" TEXT NOT NULL DEFAULT '',
    "buttonUrl" TEXT NOT NULL DEFAULT '',
    "active" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Message_shopId_fkey" FOREIGN KEY ("shopId") REFERENCES "Shop" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateIndex
CREATE INDEX "Message_shopId_active_idx" ON "Message"("shopId", "active");

