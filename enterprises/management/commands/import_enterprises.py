import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from enterprises.importing.pipeline import ImportRefused, enterprise_import
from enterprises.importing.qualifications import qualification_import


class Command(BaseCommand):
    help = "导入企业名录（.csv 或 .xlsx）：按统一社会信用代码新增或更新，错误行附原因拒绝。"

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="完整校验并统计，但不写入数据库")
        parser.add_argument("--report", type=Path, help="把被拒绝的行写入此 CSV 文件")
        parser.add_argument("--encoding", help="文件编码（默认自动识别 UTF-8 / GBK）")
        parser.add_argument(
            "--qualifications",
            action="store_true",
            help="文件是资质名单（统一社会信用代码、资质、证书编号、认定机构、有效期至）",
        )

    def handle(self, *args, file: Path, dry_run: bool, report: Path | None, encoding: str | None, **options):
        if not file.exists():
            raise CommandError(f"找不到文件：{file}")
        if options["qualifications"]:
            return self._qualifications(file)
        started = time.monotonic()

        def progress(stage: str, fraction: float, rows: int) -> None:
            self.stderr.write(f"\r{stage}：{rows:,} 行（{fraction:.0%}）", ending="")

        try:
            result = enterprise_import(
                source=file, encoding=encoding, dry_run=dry_run, report=report, progress=progress
            )
        except ImportRefused as exc:
            raise CommandError(f"文件被拒绝：{exc}") from None
        self.stderr.write("")
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(warning))
        for error in result.errors[:20]:
            self.stderr.write(f"第 {error.row} 行 [{error.column}] “{error.value}”：{error.reason}")
        if result.refused > 20:
            hint = "" if report else "（用 --report 文件名.csv 保存全部原因）"
            self.stderr.write(f"……另有 {result.refused - 20:,} 行被拒绝{hint}")
        if report and result.refused:
            self.stderr.write(f"错误报告：{report}")
        self.stdout.write(f"{result.summary()}（{time.monotonic() - started:.1f} 秒）")

    def _qualifications(self, file: Path) -> None:
        try:
            written, refused, errors = qualification_import(source=file)
        except ImportRefused as exc:
            raise CommandError(f"文件被拒绝：{exc}") from None
        for error in errors[:20]:
            self.stderr.write(f"第 {error.row} 行 [{error.column}] “{error.value}”：{error.reason}")
        self.stdout.write(f"资质证书：新增或更新 {written:,} 条，拒绝 {refused:,} 行。")
