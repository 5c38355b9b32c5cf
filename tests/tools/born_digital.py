"""A born-digital PDF (text drawn with an embedded Vietnamese-capable font), made with
ReportLab (Debian's python3-reportlab), not with sohoa: one page, one line of TEXT_FILE
per line.  Usage: born_digital.py OUT.pdf TEXT_FILE"""
import sys
from reportlab.pdfgen import canvas
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.lib.pagesizes import A4
pdfmetrics.registerFont(TTFont("DejaVu", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
c = canvas.Canvas(sys.argv[1], pagesize=A4)
c.setFont("DejaVu", 14)
y = 780
for line in open(sys.argv[2], encoding="utf-8").read().splitlines():
    c.drawString(72, y, line)
    y -= 22
c.showPage()
c.save()
