-- AlterTable
ALTER TABLE "Shop" ADD COLUMN     "messageAfterPopup" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "messageCooldownDays" INTEGER NOT NULL DEFAULT 1;

